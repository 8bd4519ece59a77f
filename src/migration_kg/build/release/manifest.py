"""``manifest.json``: the release's table of contents, and the counts the build reports.

Versions, hashes, sizes and counts only: no timestamps, so two builds of the same sources write
the same manifest. The counts come from the canonical lines when the graphs are the release's
(:class:`~.content.ReleaseGraphs`), and from rdflib otherwise (the reference they are tested
against).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from migration_kg.build.release.content import ReleaseContent, ReleaseGraphs
from migration_kg.core.namespaces import GRAPH_DATA, GRAPH_INFERRED, GRAPH_LINKS, RELEASE_GRAPHS


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
