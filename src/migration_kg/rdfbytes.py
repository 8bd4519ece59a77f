"""Deterministic RDF bytes: stable blank-node labels, sorted output, the published JSON-LD context.

Used by the release step (and by anything else that must write the same bytes for the same
graph). rdflib gives parsed blank nodes random labels and iterates hash-ordered sets, so its
output alone is not reproducible; this module fixes both without changing the graphs' meaning.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping

from rdflib import BNode, Graph, Literal, Node, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.plugins.serializers.turtle import TurtleSerializer

from migration_kg.formats import RdfFormat
from migration_kg.namespaces import EMK, PREFIXES

Triple = tuple[Node, Node, Node]


def relabel_blank_nodes(graphs: Mapping[URIRef, Graph]) -> dict[URIRef, Graph]:
    """Copies of the graphs whose blank nodes are named after their surroundings.

    A blank node's label is the hash of its incoming and outgoing edges, refined round after
    round (colour refinement) until the partition stops splitting; blank nodes shared between
    graphs (an inferred type on a data node) keep one label. Nodes that no round can tell
    apart are interchangeable, so numbering them in any order gives the same bytes.
    """
    quads = [(s, p, o, g) for g, graph in graphs.items() for s, p, o in graph]
    labels = _stable_labels(quads)
    copies: dict[URIRef, Graph] = {}
    for iri, graph in graphs.items():
        copy = Graph(bind_namespaces="none")
        for triple in sorted((_relabel(t, labels) for t in graph), key=_triple_key):
            copy.add(triple)
        copies[iri] = copy
    return copies


def _stable_labels(quads: list[tuple[Node, Node, Node, URIRef]]) -> dict[BNode, BNode]:
    outgoing: dict[BNode, list[tuple[Node, Node, Node]]] = defaultdict(list)
    incoming: dict[BNode, list[tuple[Node, Node, Node]]] = defaultdict(list)
    for s, p, o, g in quads:
        if isinstance(s, BNode):
            outgoing[s].append((p, o, g))
        if isinstance(o, BNode):
            incoming[o].append((s, p, g))
    colour = {b: "" for b in {*outgoing, *incoming}}

    def name(node: Node) -> str:
        return colour[node] if isinstance(node, BNode) else node.n3()

    classes = 0
    while True:
        colour = {
            b: hashlib.sha256(
                repr(
                    (
                        colour[b],
                        sorted((p.n3(), name(o), g.n3()) for p, o, g in outgoing[b]),
                        sorted((name(s), p.n3(), g.n3()) for s, p, g in incoming[b]),
                    )
                ).encode()
            ).hexdigest()
            for b in colour
        }
        if len(set(colour.values())) == classes:
            break
        classes = len(set(colour.values()))
    labels: dict[BNode, BNode] = {}
    seen: dict[str, int] = defaultdict(int)
    for b in sorted(colour, key=lambda b: colour[b]):
        c = colour[b][:20]
        labels[b] = BNode(f"b{c}" if seen[c] == 0 else f"b{c}x{seen[c]}")
        seen[c] += 1
    return labels


def _relabel(triple: tuple[Node, Node, Node], labels: Mapping[BNode, BNode]) -> Triple:
    s, p, o = (labels.get(n, n) if isinstance(n, BNode) else n for n in triple)
    return s, p, o


def _triple_key(triple: Iterable[Node]) -> tuple[str, ...]:
    return tuple(n.n3() for n in triple)


def bound_graph(triples: Iterable[Triple], namespaces: Mapping[str, str]) -> Graph:
    """A graph holding ``triples`` (inserted sorted) with the project's prefixes bound."""
    graph = Graph(bind_namespaces="none")
    for prefix, ns in sorted(namespaces.items()):
        graph.bind(prefix, ns, override=True, replace=True)
    for prefix, namespace in PREFIXES.items():  # the project's spelling wins
        graph.bind(prefix, namespace, override=True, replace=True)
    for triple in sorted(triples, key=_triple_key):
        graph.add(triple)
    return graph


def serialize_graph(
    graph: Graph,
    fmt: RdfFormat,
    namespaces: Mapping[str, str],
    context: Mapping[str, object] | None = None,
) -> bytes:
    """One graph in a triple format, byte-stable. JSON-LD is compacted with ``context``.

    Raises:
        ValueError: for a quad format (use :func:`serialize_quads`).
    """
    if fmt.supports_datasets and fmt is not RdfFormat.JSONLD:
        raise ValueError(f"{fmt.name} is a dataset format; use serialize_quads")
    bound = bound_graph(graph, namespaces)
    if fmt is RdfFormat.NTRIPLES:
        return _sorted_lines(bound.serialize(format="nt", encoding="utf-8"))
    if fmt is RdfFormat.JSONLD:
        return _jsonld(bound, context or jsonld_context(Graph()))
    if fmt is RdfFormat.TURTLE:
        return _turtle(bound)
    return _SortedWalk(bound).serialize(format=fmt.rdflib_name, encoding="utf-8")


class _ExactTurtle(TurtleSerializer):
    """rdflib's Turtle writer, except that numbers and booleans keep their lexical form.

    rdflib abbreviates ``"36000000"^^xsd:decimal`` to ``36000000.0``, which reads back as a
    different RDF term; a literal whose short form would change its text is written in full.
    """

    def label(self, node: Node, position: int) -> str:
        text = super().label(node, position)
        if isinstance(node, Literal) and not text.startswith('"') and text != str(node):
            return node._literal_n3(
                use_plain=False, qname_callback=lambda dt: self.get_pname(dt, False)
            )
        return text


def _turtle(graph: Graph) -> bytes:
    out = io.BytesIO()
    _ExactTurtle(graph).serialize(out, encoding="utf-8")
    return out.getvalue()


class _SortedWalk(Graph):
    """A copy whose subject and predicate walks are sorted.

    rdflib's RDF/XML writer emits subjects and predicates in store order, which varies with
    the hash seed; Turtle's writer sorts, this one does not.
    """

    def __init__(self, graph: Graph) -> None:
        super().__init__(bind_namespaces="none")
        for prefix, ns in graph.namespaces():
            self.bind(prefix, ns, override=True, replace=True)
        self += graph

    def subjects(  # type: ignore[override]
        self, predicate: Node | None = None, object: Node | None = None, unique: bool = False
    ) -> Iterator[Node]:
        found = set(super().subjects(predicate, object))
        return iter(sorted(found, key=lambda n: n.n3()))

    def predicate_objects(  # type: ignore[override]
        self, subject: Node | None = None, unique: bool = False
    ) -> Iterator[tuple[Node, Node]]:
        found = set(super().predicate_objects(subject))
        return iter(sorted(found, key=_triple_key))


def serialize_quads(
    graphs: Mapping[URIRef, Graph], fmt: RdfFormat, namespaces: Mapping[str, str]
) -> bytes:
    """Named graphs as N-Quads (sorted lines) or TriG (one Turtle block per graph, in order).

    TriG is assembled from rdflib's sorted Turtle of each graph, because rdflib's TriG writer
    visits graphs in hash order. Each block is preceded by its own prefix directives, which
    TriG allows between blocks.

    Raises:
        ValueError: for a format other than N-Quads or TriG.
    """
    if fmt is RdfFormat.NQUADS:  # each graph's N-Triples lines with the graph name added
        lines: list[str] = []
        for iri, graph in graphs.items():
            triples = graph.serialize(format="nt", encoding="utf-8").decode("utf-8")
            lines += [f"{line[:-2]} {iri.n3()} ." for line in triples.splitlines() if line]
        return _sorted_lines("\n".join(lines).encode("utf-8"))
    if fmt is not RdfFormat.TRIG:
        raise ValueError(f"{fmt.name} is not a dataset format")
    blocks: list[str] = []
    for iri, graph in graphs.items():
        turtle = _turtle(bound_graph(graph, namespaces)).decode("utf-8")
        directives = [line for line in turtle.splitlines() if line.startswith("@prefix")]
        body = [line for line in turtle.splitlines() if not line.startswith("@prefix")]
        # Not indented: a multi-line literal's text must not change.
        block = "\n".join(body).strip("\n")
        blocks.append("\n".join([*directives, "", f"{iri.n3()} {{", block, "}", ""]))
    return "\n".join(blocks).encode("utf-8")


def _sorted_lines(data: bytes) -> bytes:
    lines = sorted({line for line in data.decode("utf-8").splitlines() if line.strip()})
    return ("\n".join(lines) + "\n").encode("utf-8")


def jsonld_context(ontology: Graph) -> dict[str, object]:
    """The published ``@context``: vocabulary prefixes and one readable key per emk property.

    Datatype properties with an XSD range coerce to it. Object properties are *not* coerced to
    ``@id``: rdflib's writer then drops the blank node it should embed (``amount``), so their
    values stay ``{"@id": …}`` objects.
    A key that would shadow a prefix is left out (the property stays ``emk:<name>``). Instance
    prefixes (``country:``) are not declared: several share a name with a property
    (``period``, ``status``), and a JSON-LD term cannot be both.
    """
    terms: dict[str, object] = {prefix: str(ns) for prefix, ns in sorted(PREFIXES.items())}
    for prop in sorted(ontology.subjects(RDF.type, OWL.ObjectProperty), key=str):
        _add_term(terms, prop, {})
    for prop in sorted(ontology.subjects(RDF.type, OWL.DatatypeProperty), key=str):
        ranges = sorted(str(r) for r in ontology.objects(prop, RDFS.range))
        coercion = {"@type": "xsd:" + ranges[0][len(str(XSD)) :]} if _xsd_range(ranges) else {}
        _add_term(terms, prop, coercion)
    return {"@context": terms}


def _xsd_range(ranges: list[str]) -> bool:
    return len(ranges) == 1 and ranges[0].startswith(str(XSD))


def _add_term(terms: dict[str, object], prop: Node, coercion: dict[str, str]) -> None:
    if not isinstance(prop, URIRef) or not str(prop).startswith(str(EMK)):
        return
    key = str(prop)[len(str(EMK)) :]
    if key and key not in terms and not key.startswith("@"):
        terms[key] = {"@id": "emk:" + key, **coercion}


def _jsonld(graph: Graph, context: Mapping[str, object]) -> bytes:
    """rdflib's compacted JSON-LD with node and value arrays sorted (their order means nothing)."""
    inner = context["@context"]
    document = json.loads(graph.serialize(format="json-ld", context=inner, encoding="utf-8"))
    document["@context"] = inner
    normalised = _normalise(document)
    return (json.dumps(normalised, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _normalise(value: object, key: str = "") -> object:
    if isinstance(value, dict):
        return {k: _normalise(v, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_normalise(v) for v in value]
        if key == "@list":
            return items
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value
