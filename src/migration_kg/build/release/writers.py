"""Writers: the release's bytes in every RDF format, from canonical lines (see :mod:`.canonical`).

* N-Triples and N-Quads are the lines themselves (canonical N-Triples, as pyoxigraph writes it);
* Turtle, TriG and RDF/XML are pyoxigraph's writers fed the parsed lines in that order, so
  subjects come grouped and sorted, and literals keep their exact lexical form
  (``"36000000"^^xsd:decimal`` is not abbreviated to a different number);
* JSON-LD is compacted by :mod:`.jsonld`, because pyoxigraph's JSON-LD writer only writes
  expanded JSON-LD with full IRIs.

Large outputs come as chunks, so a million lines never sit in one string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from migration_kg.build.release.canonical import CHUNK, Lines, canonical_lines
from migration_kg.build.release.jsonld import jsonld_context, jsonld_document
from migration_kg.core.formats import RdfFormat
from migration_kg.core.namespaces import PREFIXES

_ANY_GRAPH = URIRef("urn:x-graph")  # the name of a lone graph while it is turned into lines


def ntriples_chunks(lines: Lines) -> Iterator[bytes]:
    """The lines as N-Triples, a slice at a time (a million lines never sit in one string)."""
    for start in range(0, len(lines), CHUNK):
        yield "".join([f"{line} .\n" for line in lines[start : start + CHUNK]]).encode()


def nquads_chunks(graphs: Mapping[URIRef, Lines]) -> Iterator[bytes]:
    """N-Quads, one block per graph in the mapping's order, each block sorted."""
    for iri, lines in graphs.items():
        tail = f" <{iri}> .\n"
        for start in range(0, len(lines), CHUNK):
            yield "".join([line + tail for line in lines[start : start + CHUNK]]).encode()


def ntriples(lines: Lines) -> bytes:
    return b"".join(ntriples_chunks(lines))


def nquads(graphs: Mapping[URIRef, Lines]) -> bytes:
    return b"".join(nquads_chunks(graphs))


def output_prefixes(namespaces: Mapping[str, str]) -> dict[str, str]:
    """The prefixes written into Turtle, TriG and RDF/XML: the sources', the project's winning."""
    merged = {**namespaces, **{prefix: str(ns) for prefix, ns in PREFIXES.items()}}
    return dict(sorted(merged.items()))


def parse_canonical(source: bytes | Path, fmt: RdfFormat) -> Iterator[ox.Quad]:
    """pyoxigraph's quads from canonical N-Triples or N-Quads bytes or a file of them."""
    if isinstance(source, Path):
        return ox.parse(path=source, format=fmt.oxigraph)
    return ox.parse(source, format=fmt.oxigraph)


def serialize_parsed(
    quads: Iterable[ox.Quad], fmt: RdfFormat, prefixes: Mapping[str, str]
) -> bytes:
    """pyoxigraph's Turtle, TriG or RDF/XML of ``quads``, in their order.

    pyoxigraph groups consecutive triples of a subject (and quads of a graph), so sorted
    input gives one block per subject (and per graph); its ``@prefix`` lines are then sorted.
    """
    data = ox.serialize(quads, format=fmt.oxigraph, prefixes=dict(prefixes))
    assert data is not None  # no output given: pyoxigraph returns the bytes
    return _sorted_prefixes(data) if fmt in (RdfFormat.TURTLE, RdfFormat.TRIG) else data


def _sorted_prefixes(data: bytes) -> bytes:
    """The leading ``@prefix`` lines in alphabetical order (pyoxigraph's order is its map's)."""
    end = 0
    while data.startswith(b"@prefix ", end):
        end = data.index(b"\n", end) + 1
    return b"".join(sorted(data[:end].splitlines(keepends=True))) + data[end:]


def serialize_lines(lines: Lines, fmt: RdfFormat, prefixes: Mapping[str, str]) -> bytes:
    """One graph's lines in a triple format other than JSON-LD.

    Raises:
        ValueError: for a dataset format or JSON-LD (use :func:`jsonld_document`).
    """
    if fmt is RdfFormat.NTRIPLES:
        return ntriples(lines)
    if fmt.supports_datasets:
        raise ValueError(f"{fmt.name} is not a triple format written from lines")
    return serialize_parsed(parse_canonical(ntriples(lines), RdfFormat.NTRIPLES), fmt, prefixes)


def serialize_graph(
    graph: Graph,
    fmt: RdfFormat,
    namespaces: Mapping[str, str],
    context: Mapping[str, object] | None = None,
) -> bytes:
    """One rdflib graph in a triple format, byte-stable. JSON-LD is compacted with ``context``.

    Raises:
        ValueError: for a dataset format (use :func:`serialize_quads`).
    """
    lines = canonical_lines({_ANY_GRAPH: [graph]})[_ANY_GRAPH]
    if fmt is RdfFormat.JSONLD:
        return jsonld_document(lines, context or jsonld_context(Graph()))
    return serialize_lines(lines, fmt, output_prefixes(namespaces))


def serialize_quads(
    graphs: Mapping[URIRef, Graph], fmt: RdfFormat, namespaces: Mapping[str, str]
) -> bytes:
    """Named graphs as N-Quads or TriG, one block per graph in the mapping's order.

    Raises:
        ValueError: for a format other than N-Quads or TriG.
    """
    if fmt not in (RdfFormat.NQUADS, RdfFormat.TRIG):
        raise ValueError(f"{fmt.name} is not a dataset format")
    data = nquads(canonical_lines({iri: [graph] for iri, graph in graphs.items()}))
    if fmt is RdfFormat.NQUADS:
        return data
    quads = parse_canonical(data, RdfFormat.NQUADS)
    return serialize_parsed(quads, RdfFormat.TRIG, output_prefixes(namespaces))


def json_bytes(value: object) -> bytes:
    """Key-sorted, indented JSON with a final newline: the same value, the same bytes."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
