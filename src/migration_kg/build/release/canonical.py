"""Canonical lines: each release graph as sorted, distinct N-Triples lines, stable blank labels.

The first step of writing a release (see :mod:`.content`). Why lines: rdflib gives parsed blank
nodes random labels, iterates hash-ordered sets and serialises slowly (a 1M-triple release took
minutes). So each graph is turned once into sorted, distinct lines of canonical N-Triples
(``<s> <p> "o"``, without the final `` .``), with blank nodes named after their surroundings;
every artefact is then written from those lines (:mod:`.writers`, :mod:`.jsonld`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain

from rdflib import BNode, Graph, Literal, Node, URIRef
from rdflib.namespace import RDF, XSD

Lines = list[str]  # sorted, distinct canonical N-Triples lines without the final " ."
TermQuad = tuple[Node, Node, Node, URIRef]  # rdflib terms and the release graph's IRI

# Canonical N-Triples string escapes (what pyoxigraph writes; every one is also valid JSON).
_ESCAPES = {i: f"\\u{i:04X}" for i in (*range(0x20), 0x7F)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"})
_ESCAPES.update({0x22: '\\"', 0x5C: "\\\\"})
_XSD_STRING = str(XSD.string)
RDF_TYPE_TOKEN = f"<{RDF.type}>"
CHUNK = 50_000  # lines encoded at a time by the writers


def term_token(node: Node) -> str:
    """A term as canonical N-Triples writes it (blank nodes by their current label)."""
    if isinstance(node, Literal):
        text = str(node).translate(_ESCAPES)
        if node.language:
            return f'"{text}"@{node.language.lower()}'
        if node.datatype is None or str(node.datatype) == _XSD_STRING:
            return f'"{text}"'
        return f'"{text}"^^<{node.datatype}>'
    if isinstance(node, BNode):
        return f"_:{node}"
    return f"<{node}>"


def canonical_lines(parts: Mapping[URIRef, Sequence[Graph]]) -> dict[URIRef, Lines]:
    """Each release graph (the union of its parts) as sorted, distinct canonical lines.

    Blank nodes are labelled from their edges over *all* the graphs given, so that a blank node
    shared between graphs (an inferred type on a data node) keeps one label.
    """
    tokens: dict[Node, str] = {}
    blank: list[TermQuad] = []
    lines: dict[URIRef, set[str]] = {}
    for iri, graphs in parts.items():
        lines[iri] = _plain_lines(graphs, iri, tokens, blank)
    labels = _stable_labels(blank, tokens)
    tokens.update({b: "_:" + label for b, label in labels.items()})
    for s, p, o, iri in blank:
        lines[iri].add(f"{_token(s, tokens)} {_token(p, tokens)} {_token(o, tokens)}")
    return {iri: sorted(found) for iri, found in lines.items()}


def _plain_lines(
    graphs: Sequence[Graph], iri: URIRef, tokens: dict[Node, str], blank: list[TermQuad]
) -> set[str]:
    """Lines of the triples without blank nodes; those with one are set aside in ``blank``.

    The hot loop of the release: IRI tokens are cached (their hash is ``str``'s), literals are
    rendered each time (rdflib's ``Literal.__hash__`` costs more than rendering).
    """
    found: set[str] = set()
    get = tokens.get
    for graph in graphs:
        for s, p, o in graph:
            if isinstance(s, BNode) or isinstance(o, BNode):
                blank.append((s, p, o, iri))
                continue
            ot = term_token(o) if isinstance(o, Literal) else get(o) or _token(o, tokens)
            found.add(f"{get(s) or _token(s, tokens)} {get(p) or _token(p, tokens)} {ot}")
    return found


def _token(node: Node, tokens: dict[Node, str]) -> str:
    known = tokens.get(node)
    if known is None:
        known = term_token(node)
        if not isinstance(node, Literal):
            tokens[node] = known
    return known


def _stable_labels(quads: list[TermQuad], tokens: dict[Node, str]) -> dict[BNode, str]:
    """Blank-node labels from colour refinement over the quads that touch blank nodes.

    A label is the hash of a node's incoming and outgoing edges, refined round after round
    until the partition stops splitting. Nodes that no round can tell apart are
    interchangeable, so numbering them in any order gives the same bytes.
    """
    outgoing: dict[BNode, list[tuple[str, Node, str]]] = defaultdict(list)
    incoming: dict[BNode, list[tuple[Node, str, str]]] = defaultdict(list)
    for s, p, o, g in quads:
        if isinstance(s, BNode):
            outgoing[s].append((_token(p, tokens), o, _token(g, tokens)))
        if isinstance(o, BNode):
            incoming[o].append((s, _token(p, tokens), _token(g, tokens)))
    colour = {b: "" for b in chain(outgoing, incoming)}

    def name(node: Node) -> str:
        return colour[node] if isinstance(node, BNode) else _token(node, tokens)

    classes = 0
    while True:
        colour = {
            b: hashlib.sha256(
                repr(
                    (
                        colour[b],
                        sorted((p, name(o), g) for p, o, g in outgoing[b]),
                        sorted((name(s), p, g) for s, p, g in incoming[b]),
                    )
                ).encode()
            ).hexdigest()
            for b in colour
        }
        if len(set(colour.values())) == classes:
            break
        classes = len(set(colour.values()))
    labels: dict[BNode, str] = {}
    seen: dict[str, int] = defaultdict(int)
    for b in sorted(colour, key=lambda b: colour[b]):
        c = colour[b][:20]
        labels[b] = f"b{c}" if seen[c] == 0 else f"b{c}x{seen[c]}"
        seen[c] += 1
    return labels


def union_lines(graphs: Iterable[Lines]) -> Lines:
    """The sorted, distinct lines of several graphs (timsort merges the sorted runs cheaply)."""
    return list(dict.fromkeys(sorted(chain.from_iterable(graphs))))
