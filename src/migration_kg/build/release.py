"""Release: the five named graphs written to dist/ in every format, reproducibly and atomically.

Fourth step of the flow (reasoning → **release** → build). Artefacts are first written to a
temporary directory beside dist/ and swapped in only when all are complete, so a failed build
leaves the previous release untouched. Two builds of the same sources give the same bytes and
nothing reads the clock.

How, and fast (a million triples in well under a minute): :func:`assemble` turns each release
graph once into sorted, distinct canonical N-Triples lines with blank nodes labelled from their
surroundings (:mod:`migration_kg.build.rdfbytes`), and every artefact is written from those lines:

* ``emk.nq`` is the lines with their graph, one block per graph in :data:`RELEASE_GRAPHS` order;
  ``emk.trig`` is pyoxigraph's TriG of the same quads in that order: one ``<g> {…}`` block each.
* ``emk.nt``, ``emk.ttl``, ``emk.rdf`` and ``emk.jsonld`` hold the union of the five graphs;
  ``ontology.ttl`` the ontology graph alone. Turtle, TriG and RDF/XML are pyoxigraph's writers
  (lexical forms kept exactly, prefixes from the sources and :data:`PREFIXES`).
* ``emk.jsonld`` stays *compact* JSON-LD with the published ``context.jsonld`` inline: readable
  keys (``"startDate": "2025-01-01"``) are what a web developer opens this file for.
  pyoxigraph's JSON-LD writer only writes expanded JSON-LD with full IRIs and ignores a term
  context, so the document is compacted in :func:`migration_kg.build.rdfbytes.jsonld_document`:
  flattened, one node per line, in the order of ``emk.nt``.
* ``manifest.json`` (key-sorted) gives every artefact's sha256 and size, and counts.

The graphs in :class:`ReleaseContent` are read-only views over the source files' graphs
(:class:`~migration_kg.build.rdfbytes.GraphUnion`), not copies: a copy of a million triples costs
seconds and gigabytes. Their blank nodes keep rdflib's labels; the artefacts' labels are the
stable ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF

from migration_kg.build.collector import collector_paused
from migration_kg.build.description import DescriptionInput, GraphStatistics, describe
from migration_kg.build.framing import partner_country_documents
from migration_kg.build.loading import LoadedSources, SourceFile, SourceKind
from migration_kg.build.rdfbytes import (
    GraphUnion,
    Lines,
    canonical_lines,
    jsonld_chunks,
    jsonld_context,
    nquads_chunks,
    ntriples_chunks,
    output_prefixes,
    parse_canonical,
    serialize_lines,
    serialize_parsed,
    union_lines,
)
from migration_kg.build.validation import ValidationReport
from migration_kg.core.errors import SourceError
from migration_kg.core.formats import RdfFormat
from migration_kg.core.names import (
    CONTEXT,
    FRAMED_ARTEFACT,
    MANIFEST,
    ONTOLOGY_ARTEFACT,
    artefact,
)
from migration_kg.core.namespaces import (
    CONTENT_GRAPHS,
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

_CONTENT_KINDS = (SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)
_RDF_TYPE = f"<{RDF.type}>"


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
    marker = f" {_RDF_TYPE} "
    typed = {
        (s, o[1:-1] if o.startswith("<") else o)
        for iri in (GRAPH_DATA, GRAPH_LINKS, GRAPH_INFERRED)
        for line in lines[iri]
        if marker in line
        for s, p, o in [line.split(" ", 2)]
        if p == _RDF_TYPE
    }
    return dict(sorted(Counter(c for _, c in typed).items()))


@dataclass(frozen=True)
class ReleaseContent:
    """What goes into a release: the five graphs, their lines, and what the manifest reports.

    ``lines`` and ``union_lines`` are what the artefacts are written from; ``graphs`` are for
    lookups (and for tests and library users who want rdflib graphs).
    """

    graphs: Mapping[URIRef, Graph]
    lines: Mapping[URIRef, Lines]  # per graph: sorted canonical N-Triples (see rdfbytes)
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
    """The ``owl:versionInfo`` of the top ontology: a release is versioned like its ontology.

    Raises:
        SourceError: if the top ontology has no single version.
    """
    ontology = GraphUnion(sources.graph(f) for f in sources.of_kind(SourceKind.ONTOLOGY))
    versions = sorted(str(v) for v in ontology.objects(ONTOLOGY, OWL.versionInfo))
    if len(versions) != 1:
        raise SourceError("ontology/emk.ttl", f"<{ONTOLOGY}> needs one owl:versionInfo")
    return versions[0]


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
    :mod:`migration_kg.build.description`); the artefacts that do not contain it are written here,
    so that their size and checksum can be stated (the same bytes are written to dist/).
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
    context = _json_bytes(jsonld_context(graphs[GRAPH_ONTOLOGY]))
    log.info("making %s", FRAMED_ARTEFACT)
    framed = _json_bytes(partner_country_documents(graphs))
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
        if p == _RDF_TYPE:
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


@collector_paused()
def write_release(content: ReleaseContent, dist: Path) -> tuple[Path, ...]:
    """Write every artefact into a fresh directory, then swap it in place of ``dist``.

    Returns:
        The paths written, under ``dist``.
    """
    dist.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=dist.name + ".new-", dir=dist.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would make the release private
    try:
        names = _write_artefacts(content, staging)
        _swap(staging, dist)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return tuple(dist / name for name in names)


def _swap(staging: Path, dist: Path) -> None:
    """Swap ``staging`` in for ``dist``; each rename is atomic, the old release stays till then."""
    if dist.exists():
        retired = Path(tempfile.mkdtemp(prefix=dist.name + ".old-", dir=dist.parent))
        retired.rmdir()
        dist.rename(retired)
        staging.rename(dist)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(dist)


def _write_artefacts(content: ReleaseContent, out: Path) -> list[str]:
    """Write each artefact as soon as it is made, keeping only its digest (memory stays flat)."""
    digests: dict[str, dict[str, object]] = {}

    def put(name: str, make: Callable[..., Iterable[bytes] | bytes], *args: object) -> Path:
        log.info("writing %s", name)
        made = make(*args)
        digests[name] = _write(out / name, [made] if isinstance(made, bytes) else made)
        return out / name

    prefixes = output_prefixes(content.namespaces)
    nq = put(artefact(RdfFormat.NQUADS), nquads_chunks, content.lines)
    quads = parse_canonical(nq, RdfFormat.NQUADS)
    put(artefact(RdfFormat.TRIG), serialize_parsed, quads, RdfFormat.TRIG, prefixes)
    nt = put(artefact(RdfFormat.NTRIPLES), ntriples_chunks, content.union_lines)
    log.info("parsing %s", nt.name)
    union = list(parse_canonical(nt, RdfFormat.NTRIPLES))  # once for the next two
    for fmt in (RdfFormat.TURTLE, RdfFormat.RDFXML):
        put(artefact(fmt), serialize_parsed, union, fmt, prefixes)
    del union
    context = json.loads(content.independent[CONTEXT])
    put(artefact(RdfFormat.JSONLD), jsonld_chunks, content.union_lines, context)
    for name, data in content.independent.items():
        put(name, bytes, data)
    log.info("writing %s", MANIFEST)
    (out / MANIFEST).write_bytes(_json_bytes(manifest(content, digests)))
    return [*sorted(digests), MANIFEST]


def _write(path: Path, chunks: Iterable[bytes]) -> dict[str, object]:
    """Write the chunks to ``path``; their sha256 and size as the manifest states them."""
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as file:
        for chunk in chunks:
            file.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}


def manifest(
    content: ReleaseContent, artefacts: Mapping[str, Mapping[str, object]]
) -> dict[str, object]:
    """The release's table of contents: version, hashes, sizes and counts (no timestamps).

    ``artefacts`` maps each file name to its ``{"sha256", "bytes"}`` (see :func:`_digest`).
    """
    return {
        "version": content.version,
        "build_hash": content.build_hash,
        "sources": [
            {"path": f.relpath, "kind": f.kind.value, **_digest(f.path.read_bytes())}
            for f in sorted(content.sources, key=lambda f: f.relpath)
        ],
        "artefacts": {name: dict(entry) for name, entry in sorted(artefacts.items())},
        "triples": graph_counts(content.graphs),
        "instances": class_counts(content.graphs),
        "validation": {
            "conforms": content.validation.conforms,
            "shapes_files": content.validation.shapes_files,
            "counts": content.validation.as_dict()["counts"],
        },
    }


def graph_counts(graphs: Mapping[URIRef, Graph]) -> dict[str, int]:
    """Distinct triples per release graph (taken from the lines when the graphs carry them)."""
    if isinstance(graphs, ReleaseGraphs):
        return dict(graphs.triples)
    return {str(iri): len(graphs[iri]) for iri in RELEASE_GRAPHS}


def class_counts(graphs: Mapping[URIRef, Graph]) -> dict[str, int]:
    """Distinct instances per class over data, links and inferred (asserted + entailed types).

    Counted once per release from the lines when the graphs are :class:`ReleaseGraphs`; over
    other graphs, from their ``rdf:type`` triples.
    """
    if isinstance(graphs, ReleaseGraphs):
        return dict(graphs.instances)
    typed = {
        (s, c)
        for iri in (GRAPH_DATA, GRAPH_LINKS, GRAPH_INFERRED)
        for s, c in graphs[iri].subject_objects(RDF.type)
    }
    counts = Counter(str(c) for _, c in typed)
    return dict(sorted(counts.items()))


def _digest(data: bytes) -> dict[str, object]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _json_bytes(value: object) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
