"""Check a release loaded into a store before anything points at it (part of publish).

Two checks, both against the store's own answers: the number of triples in each versioned
graph equals ``manifest.json``'s count for its release graph, and a deterministic sample of
subjects per graph (see ``release_chunks``) has the same triples in the store as in the release,
compared as graphs (isomorphism, so blank node labels may differ). Stores keep some literals by
value: Virtuoso writes ``13.0`` back as ``13`` and ``en-GB`` as ``en-gb``, which RDF counts as the
same language tag and XSD as the same number; literals are compared on those canonical forms,
so a changed value or a lost triple fails while a store's spelling of the same value does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from rdflib.compare import isomorphic

from migration_kg.core.errors import StoreError
from migration_kg.core.queries import internal_query
from migration_kg.serve.release_chunks import ReleaseScan, read_quads
from migration_kg.serve.results_io import Term
from migration_kg.serve.sparql_rewrite import with_values
from migration_kg.serve.store_http import StoreClient

XSD = "http://www.w3.org/2001/XMLSchema#"
_DECIMALS = {
    XSD + name
    for name in [
        "decimal",
        "integer",
        "long",
        "int",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    ]
}
_FLOATS = {XSD + "double", XSD + "float"}


def store_counts(client: StoreClient, graphs: list[str]) -> dict[str, int]:
    """Triples per graph as the store counts them (0 for a graph it does not have)."""
    counts = dict.fromkeys(graphs, 0)
    for name in graphs:  # one graph a query: Virtuoso timed out (SR171) on all five at 1M
        query = with_values(internal_query("publish-counts.rq"), [{"graph": ox.NamedNode(name)}])
        for row in client.select(query):
            graph, triples = row.get("graph"), row.get("triples")
            if isinstance(graph, ox.NamedNode) and isinstance(triples, ox.Literal):
                counts[graph.value] = int(triples.value)
    return counts


def check_counts(
    client: StoreClient, expected: Mapping[str, int], versions: Mapping[str, str]
) -> None:
    """Each versioned graph holds as many triples as the manifest says.

    Raises:
        StoreError: naming the first graph whose count differs.
    """
    found = store_counts(client, [versions[g] for g in sorted(expected)])
    for graph in sorted(expected):
        if found[versions[graph]] != expected[graph]:
            raise StoreError(
                f"{client.urls.query}: verification failed: <{versions[graph]}> holds "
                f"{found[versions[graph]]} triples, manifest.json says {expected[graph]} "
                f"for <{graph}>; nothing was switched"
            )


def check_sample(
    client: StoreClient, dist: Path, scan: ReleaseScan, versions: Mapping[str, str]
) -> int:
    """The sampled subjects' triples are isomorphic in store and release; returns how many.

    Raises:
        StoreError: naming the first subject whose triples differ.
    """
    wanted = {(g, s) for g in versions for s in scan.sample(g)}
    local = _local_descriptions(dist, scan, wanted)
    for graph in sorted(versions):
        subjects = scan.sample(graph)
        rows = [{"graph": ox.NamedNode(versions[graph]), "s": ox.NamedNode(s)} for s in subjects]
        if not rows:
            continue
        remote = client.construct(with_values(internal_query("publish-sample.rq"), rows))
        by_subject = _split(remote, set(subjects))
        for subject in subjects:
            mine = local.get((graph, subject), [])
            theirs = by_subject.get(subject, [])
            if not isomorphic(_canonical(mine), _canonical(theirs)):
                raise StoreError(
                    f"{client.urls.query}: verification failed: <{subject}> in <{graph}> has "
                    f"{len(theirs)} triples in the store, {len(mine)} in the release, not the "
                    "same graph; nothing was switched"
                )
    return len(wanted)


def _local_descriptions(
    dist: Path, scan: ReleaseScan, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], list[ox.Triple]]:
    """The release's triples of each sampled subject, with its blank nodes' triples."""
    found: dict[tuple[str, str], list[ox.Triple]] = {}
    subjects = {s for _, s in wanted}
    for quad in read_quads(dist):
        subject = quad.subject
        if isinstance(subject, ox.NamedNode) and subject.value in subjects:
            key = (str(getattr(quad.graph_name, "value", "")), subject.value)
            if key in wanted:
                found.setdefault(key, []).append(quad.triple)
    for (graph, _), triples in found.items():
        blanks = {t.object for t in triples if isinstance(t.object, ox.BlankNode)}
        triples += [t for t in scan.blank_triples.get(graph, []) if t.subject in blanks]
    return found


def _split(triples: list[ox.Triple], subjects: set[str]) -> dict[str, list[ox.Triple]]:
    """A CONSTRUCT over many subjects, split per subject (blank nodes follow their parent)."""
    owner: dict[ox.BlankNode, str] = {}
    out: dict[str, list[ox.Triple]] = {}
    for t in triples:
        if isinstance(t.subject, ox.NamedNode) and t.subject.value in subjects:
            out.setdefault(t.subject.value, []).append(t)
            if isinstance(t.object, ox.BlankNode):
                owner[t.object] = t.subject.value
    for t in triples:
        if isinstance(t.subject, ox.BlankNode) and t.subject in owner:
            out.setdefault(owner[t.subject], []).append(t)
    return out


def _canonical(triples: list[ox.Triple]) -> Graph:
    """An rdflib graph of ``triples`` with literals in the canonical forms stores keep."""
    lines = [
        str(ox.Triple(t.subject, t.predicate, _canonical_literal(t.object))) + " ." for t in triples
    ]
    return Graph().parse(data="\n".join(sorted(set(lines))), format="nt")


def _canonical_literal(term: Term) -> Term:
    if not isinstance(term, ox.Literal):
        return term
    if term.language:
        return ox.Literal(term.value, language=term.language.lower())
    datatype = term.datatype.value
    try:
        if datatype in _DECIMALS:
            value = Decimal(term.value)
            text = format(value.normalize(), "f") if value else "0"
            return ox.Literal(text, datatype=ox.NamedNode(XSD + "decimal"))
        if datatype in _FLOATS:
            return ox.Literal(repr(float(term.value)), datatype=term.datatype)
    except (InvalidOperation, ValueError):
        return term
    return term
