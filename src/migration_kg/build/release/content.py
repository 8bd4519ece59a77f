"""Release content: the sources and the inferred graph grouped into the five release graphs.

:func:`assemble` turns each graph once into canonical lines (:mod:`.canonical`), makes the
artefacts the description must state the size of (ontology, context, framed document), and
adds the ``metadata`` graph: the build's provenance and its DCAT-AP/VoID description.

The graphs in :class:`ReleaseContent` are read-only views over the source files' graphs
(:class:`~.union.GraphUnion`), not copies: a copy of a million triples costs seconds and
gigabytes. Their blank nodes keep rdflib's labels; the artefacts' labels are the stable ones.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, SKOS

from migration_kg.build.collector import collector_paused
from migration_kg.build.loading import LoadedSources, SourceFile, SourceKind
from migration_kg.build.release.canonical import (
    RDF_TYPE_TOKEN,
    Lines,
    canonical_lines,
    union_lines,
)
from migration_kg.build.release.description import DescriptionInput, GraphStatistics, describe
from migration_kg.build.release.framing import partner_country_documents
from migration_kg.build.release.jsonld import jsonld_context
from migration_kg.build.release.union import GraphUnion
from migration_kg.build.release.writers import json_bytes, output_prefixes, serialize_lines
from migration_kg.build.validation import ValidationReport
from migration_kg.core.errors import SourceError
from migration_kg.core.formats import RdfFormat
from migration_kg.core.names import CONTEXT, FRAMED_ARTEFACT, ONTOLOGY_ARTEFACT
from migration_kg.core.namespaces import (
    CONTENT_GRAPHS,
    EMK,
    GRAPH_DATA,
    GRAPH_INFERRED,
    GRAPH_LINKS,
    GRAPH_METADATA,
    GRAPH_ONTOLOGY,
    ID,
    LICENCE_DOCUMENT,
    ONTOLOGY,
    RELEASE_GRAPHS,
)

log = logging.getLogger(__name__)
_EDITION = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")

_CONTENT_KINDS = (SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)


class ReleaseGraphs(dict[URIRef, Graph]):
    """The release graphs by IRI, with their counts taken once from the canonical lines.

    Why a dict with counts: :func:`graph_counts` and :func:`class_counts` are asked twice per
    build (manifest, build result); over views of a million triples each ask would be a pass.
    """

    def __init__(self, graphs: Mapping[URIRef, Graph], lines: Mapping[URIRef, Lines]) -> None:
        super().__init__(graphs)
        self.triples = {str(iri): len(lines[iri]) for iri in RELEASE_GRAPHS}
        self.instances = _instance_counts(lines)


def _instance_counts(lines: Mapping[URIRef, Lines]) -> dict[str, int]:
    """:func:`class_counts` from the lines: distinct (subject, class) ``rdf:type`` pairs."""
    marker = f" {RDF_TYPE_TOKEN} "
    typed = {
        (s, o[1:-1] if o.startswith("<") else o)
        for iri in (GRAPH_DATA, GRAPH_LINKS, GRAPH_INFERRED)
        for line in lines[iri]
        if marker in line
        for s, p, o in [line.split(" ", 2)]
        if p == RDF_TYPE_TOKEN
    }
    return dict(sorted(Counter(c for _, c in typed).items()))


@dataclass(frozen=True)
class ReleaseContent:
    """What goes into a release: the five graphs, their lines, and what the manifest reports.

    ``lines`` and ``union_lines`` are what the artefacts are written from; ``graphs`` are for
    lookups (and for tests and library users who want rdflib graphs).
    """

    graphs: Mapping[URIRef, Graph]
    lines: Mapping[URIRef, Lines]  # per graph: sorted canonical N-Triples (see .canonical)
    union_lines: Lines  # the five graphs' lines merged: emk.nt, emk.ttl, emk.rdf, emk.jsonld
    version: str
    build_hash: str
    sources: tuple[SourceFile, ...]
    namespaces: Mapping[str, str]
    validation: ValidationReport
    independent: Mapping[str, bytes] = field(default_factory=dict)  # without the metadata graph

    def union(self) -> Graph:
        """The five graphs as one (a read-only view)."""
        return GraphUnion(self.graphs[iri] for iri in RELEASE_GRAPHS)


def release_version(sources: LoadedSources) -> str:
    """``<ontology owl:versionInfo>+<newest edition>``, e.g. ``0.1.0+2025-03``.

    A release is versioned like its ontology, and by the newest report edition it holds (SemVer
    build metadata), so that the release of each edition has a version of its own under
    ``release/<version>/``; without any ``emk:ReportEdition`` in the data, the ontology version.

    Raises:
        SourceError: if the top ontology has no single version.
    """
    ontology = GraphUnion(sources.graph(f) for f in sources.of_kind(SourceKind.ONTOLOGY))
    versions = sorted(str(v) for v in ontology.objects(ONTOLOGY, OWL.versionInfo))
    if len(versions) != 1:
        raise SourceError("ontology/emk.ttl", f"<{ONTOLOGY}> needs one owl:versionInfo")
    data = GraphUnion(sources.graph(f) for f in sources.of_kind(SourceKind.DATA))
    editions = sorted(
        str(notation)
        for edition in data.subjects(RDF.type, EMK.ReportEdition)
        for notation in data.objects(edition, SKOS.notation)
        if _EDITION.match(str(notation))
    )
    return f"{versions[0]}+{editions[-1]}" if editions else versions[0]


def build_hash(files: tuple[SourceFile, ...]) -> str:
    """sha256 over the sources, sorted by relative path (path and bytes both count)."""
    digest = hashlib.sha256()
    for source in sorted(files, key=lambda f: f.relpath):
        digest.update(source.relpath.encode() + b"\0" + source.path.read_bytes() + b"\0")
    return digest.hexdigest()


@collector_paused()
def assemble(
    sources: LoadedSources, inferred: Graph, validation: ValidationReport
) -> ReleaseContent:
    """Group the sources into the release graphs, their lines, and describe the build.

    The ``metadata`` graph holds the build's provenance and the DCAT-AP/VoID description (see
    :mod:`.description`); the artefacts that do not contain it are written here, so
    that their size and checksum can be stated (the same bytes are written to dist/).
    """
    version = release_version(sources)
    digest = build_hash(sources.files)
    parts: dict[URIRef, Sequence[Graph]] = {
        GRAPH_ONTOLOGY: [sources.graph(f) for f in sources.of_kind(SourceKind.ONTOLOGY)],
        GRAPH_DATA: [sources.graph(f) for f in sources.of_kind(SourceKind.DATA)],
        GRAPH_LINKS: [sources.graph(f) for f in sources.of_kind(SourceKind.LINKS)],
        GRAPH_INFERRED: [inferred],
    }
    log.info("canonical lines")
    lines = canonical_lines(parts)
    graphs: dict[URIRef, Graph] = {iri: GraphUnion(part, iri) for iri, part in parts.items()}
    independent = _independent_artefacts(graphs, lines[GRAPH_ONTOLOGY], sources.namespaces())
    log.info("description")
    content = union_lines(lines[iri] for iri in CONTENT_GRAPHS)
    metadata = _metadata(version, digest, sources.of_kind(*_CONTENT_KINDS))
    statistics = _statistics(lines, content)
    metadata += describe(DescriptionInput(version, graphs, independent, statistics))
    graphs[GRAPH_METADATA] = metadata
    lines.update(canonical_lines({GRAPH_METADATA: [metadata]}))
    return ReleaseContent(
        graphs=ReleaseGraphs(graphs, lines),
        lines={iri: lines[iri] for iri in RELEASE_GRAPHS},
        union_lines=union_lines([content, lines[GRAPH_METADATA]]),
        version=version,
        build_hash=digest,
        sources=sources.files,
        namespaces=sources.namespaces(),
        validation=validation,
        independent=independent,
    )


def _independent_artefacts(
    graphs: Mapping[URIRef, Graph], ontology: Lines, namespaces: Mapping[str, str]
) -> dict[str, bytes]:
    """The artefacts that do not contain the metadata graph, so the description can state them."""
    log.info("making %s", ONTOLOGY_ARTEFACT)
    turtle = serialize_lines(ontology, RdfFormat.TURTLE, output_prefixes(namespaces))
    log.info("making %s", CONTEXT)
    context = json_bytes(jsonld_context(graphs[GRAPH_ONTOLOGY]))
    log.info("making %s", FRAMED_ARTEFACT)
    framed = json_bytes(partner_country_documents(graphs))
    return {ONTOLOGY_ARTEFACT: turtle, CONTEXT: context, FRAMED_ARTEFACT: framed}


def _statistics(lines: Mapping[URIRef, Lines], content: Lines) -> GraphStatistics:
    """The VoID numbers, from the lines (``content``: the content graphs' merged lines)."""
    instances = f"<{ID}"
    entities: set[str] = set()
    classes: set[str] = set()
    properties: set[str] = set()
    for line in content:
        s, p, o = line.split(" ", 2)
        properties.add(p)
        if p == RDF_TYPE_TOKEN:
            classes.add(o)
        if s.startswith(instances):
            entities.add(s)
    return GraphStatistics(
        triples={iri: len(lines[iri]) for iri in CONTENT_GRAPHS},
        subjects={iri: len({x[: x.index(" ")] for x in lines[iri]}) for iri in CONTENT_GRAPHS},
        total=len(content),
        entities=len(entities),
        classes=len(classes),
        properties=len(properties),
    )


def _metadata(version: str, digest: str, files: tuple[SourceFile, ...]) -> Graph:
    """A small, clock-free description of the release: version, hash, licence, sources."""
    graph = Graph(bind_namespaces="none", identifier=GRAPH_METADATA)
    release = ID["release/" + version]
    graph.add((release, RDF.type, PROV.Entity))
    graph.add((release, DCTERMS.hasVersion, Literal(version)))
    graph.add((release, DCTERMS.identifier, Literal("sha256:" + digest)))
    graph.add((release, DCTERMS.license, LICENCE_DOCUMENT))
    graph.add((release, PROV.wasDerivedFrom, ONTOLOGY))
    for source in files:
        graph.add((release, DCTERMS.source, source.graph_iri))
    return graph
