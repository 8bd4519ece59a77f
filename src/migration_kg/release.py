"""Release: the five named graphs written to dist/ in every format, reproducibly and atomically.

Fourth step of the flow (reasoning → **release** → build). Artefacts are first written to a
temporary directory beside dist/ and swapped in only when all are complete, so a failed build
leaves the previous release untouched. Two builds of the same sources give the same bytes:
blank nodes get labels derived from their surroundings (see :mod:`migration_kg.rdfbytes`),
line-based formats are sorted, Turtle/TriG use rdflib's sorted writer, JSON is key-sorted,
and nothing reads the clock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF

from migration_kg.description import DescriptionInput, describe
from migration_kg.errors import SourceError
from migration_kg.formats import RdfFormat
from migration_kg.framing import FRAMED_ARTEFACT, partner_country_documents
from migration_kg.loading import LoadedSources, SourceFile, SourceKind
from migration_kg.namespaces import (
    GRAPH_DATA,
    GRAPH_INFERRED,
    GRAPH_LINKS,
    GRAPH_METADATA,
    GRAPH_ONTOLOGY,
    ID,
    RELEASE_GRAPHS,
)
from migration_kg.rdfbytes import (
    jsonld_context,
    relabel_blank_nodes,
    serialize_graph,
    serialize_quads,
)
from migration_kg.validation import ValidationReport

log = logging.getLogger(__name__)

ONTOLOGY_IRI = URIRef("https://w3id.org/eu-migration-kg/ontology")
CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")
ARTEFACT_STEM = "emk"
MANIFEST = "manifest.json"
CONTEXT = "context.jsonld"
ONTOLOGY_ARTEFACT = "ontology.ttl"


@dataclass(frozen=True)
class ReleaseContent:
    """What goes into a release: the five graphs plus the facts the manifest reports."""

    graphs: Mapping[URIRef, Graph]
    version: str
    build_hash: str
    sources: tuple[SourceFile, ...]
    namespaces: Mapping[str, str]
    validation: ValidationReport
    framed: Mapping[str, bytes] = field(default_factory=dict)  # framed JSON-LD documents

    def union(self) -> Graph:
        union = Graph(bind_namespaces="none")
        for graph in self.graphs.values():
            union += graph
        return union


def release_version(sources: LoadedSources) -> str:
    """The ``owl:versionInfo`` of the top ontology: a release is versioned like its ontology.

    Raises:
        SourceError: if the top ontology has no single version.
    """
    ontology = sources.union(SourceKind.ONTOLOGY)
    versions = sorted(str(v) for v in ontology.objects(ONTOLOGY_IRI, OWL.versionInfo))
    if len(versions) != 1:
        raise SourceError("ontology/emk.ttl", f"<{ONTOLOGY_IRI}> needs one owl:versionInfo")
    return versions[0]


def build_hash(files: tuple[SourceFile, ...]) -> str:
    """sha256 over the sources, sorted by relative path (path and bytes both count)."""
    digest = hashlib.sha256()
    for source in sorted(files, key=lambda f: f.relpath):
        digest.update(source.relpath.encode() + b"\0" + source.path.read_bytes() + b"\0")
    return digest.hexdigest()


def assemble(
    sources: LoadedSources, inferred: Graph, validation: ValidationReport
) -> ReleaseContent:
    """Group the sources into the release graphs and describe the build in ``metadata``.

    The ``metadata`` graph holds the build's provenance and the DCAT-AP/VoID description (see
    :mod:`migration_kg.description`); the two artefacts that do not contain it are serialised
    here once more so that their size and checksum can be stated (the same bytes are written).
    """
    version = release_version(sources)
    digest = build_hash(sources.files)
    content_sources = sources.of_kind(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)
    graphs = relabel_blank_nodes(
        {
            GRAPH_ONTOLOGY: sources.union(SourceKind.ONTOLOGY),
            GRAPH_DATA: sources.union(SourceKind.DATA),
            GRAPH_LINKS: sources.union(SourceKind.LINKS),
            GRAPH_INFERRED: inferred,
            GRAPH_METADATA: _metadata(version, digest, content_sources),
        }
    )
    namespaces = sources.namespaces()
    independent = {
        ONTOLOGY_ARTEFACT: serialize_graph(graphs[GRAPH_ONTOLOGY], RdfFormat.TURTLE, namespaces),
        CONTEXT: _json_bytes(jsonld_context(graphs[GRAPH_ONTOLOGY])),
        FRAMED_ARTEFACT: _json_bytes(partner_country_documents(graphs)),
    }
    graphs[GRAPH_METADATA] += describe(DescriptionInput(version, graphs, independent))
    return ReleaseContent(
        graphs=graphs,
        version=version,
        build_hash=digest,
        sources=sources.files,
        namespaces=namespaces,
        validation=validation,
        framed={FRAMED_ARTEFACT: independent[FRAMED_ARTEFACT]},
    )


def _metadata(version: str, digest: str, files: tuple[SourceFile, ...]) -> Graph:
    """A small, clock-free description of the release: version, hash, licence, sources."""
    graph = Graph(bind_namespaces="none")
    release = ID["release/" + version]
    graph.add((release, RDF.type, PROV.Entity))
    graph.add((release, DCTERMS.hasVersion, Literal(version)))
    graph.add((release, DCTERMS.identifier, Literal("sha256:" + digest)))
    graph.add((release, DCTERMS.license, CC_BY))
    graph.add((release, PROV.wasDerivedFrom, ONTOLOGY_IRI))
    for source in files:
        graph.add((release, DCTERMS.source, source.graph_iri))
    return graph


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
    union = content.union()
    context = jsonld_context(content.graphs[GRAPH_ONTOLOGY])
    writers: dict[str, Callable[[], bytes]] = {
        f"{ARTEFACT_STEM}.trig": lambda: serialize_quads(
            content.graphs, RdfFormat.TRIG, content.namespaces
        ),
        f"{ARTEFACT_STEM}.nq": lambda: serialize_quads(
            content.graphs, RdfFormat.NQUADS, content.namespaces
        ),
        ONTOLOGY_ARTEFACT: lambda: serialize_graph(
            content.graphs[GRAPH_ONTOLOGY], RdfFormat.TURTLE, content.namespaces
        ),
        CONTEXT: lambda: _json_bytes(context),
        **{name: partial(bytes, data) for name, data in content.framed.items()},
    }
    for fmt in (RdfFormat.TURTLE, RdfFormat.NTRIPLES, RdfFormat.RDFXML, RdfFormat.JSONLD):
        name = f"{ARTEFACT_STEM}.{fmt.extension}"
        writers[name] = partial(serialize_graph, union, fmt, content.namespaces, context=context)
    written: dict[str, bytes] = {}
    for name, write in writers.items():
        log.info("writing %s", name)
        written[name] = write()
        (out / name).write_bytes(written[name])
    (out / MANIFEST).write_bytes(_json_bytes(manifest(content, written)))
    return [*sorted(written), MANIFEST]


def manifest(content: ReleaseContent, artefacts: Mapping[str, bytes]) -> dict[str, object]:
    """The release's table of contents: version, hashes, sizes and counts (no timestamps)."""
    return {
        "version": content.version,
        "build_hash": content.build_hash,
        "sources": [
            {"path": f.relpath, "kind": f.kind.value, **_digest(f.path.read_bytes())}
            for f in sorted(content.sources, key=lambda f: f.relpath)
        ],
        "artefacts": {name: _digest(data) for name, data in sorted(artefacts.items())},
        "triples": graph_counts(content.graphs),
        "instances": class_counts(content.graphs),
        "validation": {
            "conforms": content.validation.conforms,
            "shapes_files": content.validation.shapes_files,
            "counts": content.validation.as_dict()["counts"],
        },
    }


def graph_counts(graphs: Mapping[URIRef, Graph]) -> dict[str, int]:
    return {str(iri): len(graphs[iri]) for iri in RELEASE_GRAPHS}


def class_counts(graphs: Mapping[URIRef, Graph]) -> dict[str, int]:
    """Distinct instances per class over data, links and inferred (asserted + entailed types)."""
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
