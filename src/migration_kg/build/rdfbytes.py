"""Deterministic RDF bytes: canonical N-Triples lines, stable blank-node labels, every format.

Used by the release step (and by anything else that must write the same bytes for the same
graph). Why lines: rdflib gives parsed blank nodes random labels, iterates hash-ordered sets and
serialises slowly (a 1M-triple release took minutes). So each graph is turned once into sorted,
distinct lines of canonical N-Triples (``<s> <p> "o"``, without the final `` .``), with blank
nodes named after their surroundings; every artefact is then written from those lines:

* N-Triples and N-Quads are the lines themselves (canonical N-Triples, as pyoxigraph writes it);
* Turtle, TriG and RDF/XML are pyoxigraph's writers fed the parsed lines in that order, so
  subjects come grouped and sorted, and literals keep their exact lexical form
  (``"36000000"^^xsd:decimal`` is not abbreviated to a different number);
* JSON-LD is compacted here with the published context (see :func:`jsonld_document`), because
  pyoxigraph's JSON-LD writer only writes expanded JSON-LD with full IRIs.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from itertools import chain, groupby
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path as FilePath
from typing import Any, NoReturn

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Node, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.paths import Path

from migration_kg.core.formats import RdfFormat
from migration_kg.core.namespaces import EMK, PREFIXES

Lines = list[str]  # sorted, distinct canonical N-Triples lines without the final " ."
TermQuad = tuple[Node, Node, Node, URIRef]  # rdflib terms and the release graph's IRI

# Canonical N-Triples string escapes (what pyoxigraph writes; every one is also valid JSON).
_ESCAPES = {i: f"\\u{i:04X}" for i in (*range(0x20), 0x7F)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"})
_ESCAPES.update({0x22: '\\"', 0x5C: "\\\\"})
_XSD_STRING = str(XSD.string)
_ANY_GRAPH = URIRef("urn:x-graph")  # the name of a lone graph while it is turned into lines
_CHUNK = 50_000  # lines encoded at a time
_RDF_TYPE = f"<{RDF.type}>"


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


def ntriples_chunks(lines: Lines) -> Iterator[bytes]:
    """The lines as N-Triples, a slice at a time (a million lines never sit in one string)."""
    for start in range(0, len(lines), _CHUNK):
        yield "".join([f"{line} .\n" for line in lines[start : start + _CHUNK]]).encode()


def nquads_chunks(graphs: Mapping[URIRef, Lines]) -> Iterator[bytes]:
    """N-Quads, one block per graph in the mapping's order, each block sorted."""
    for iri, lines in graphs.items():
        tail = f" <{iri}> .\n"
        for start in range(0, len(lines), _CHUNK):
            yield "".join([line + tail for line in lines[start : start + _CHUNK]]).encode()


def ntriples(lines: Lines) -> bytes:
    return b"".join(ntriples_chunks(lines))


def nquads(graphs: Mapping[URIRef, Lines]) -> bytes:
    return b"".join(nquads_chunks(graphs))


def output_prefixes(namespaces: Mapping[str, str]) -> dict[str, str]:
    """The prefixes written into Turtle, TriG and RDF/XML: the sources', the project's winning."""
    merged = {**namespaces, **{prefix: str(ns) for prefix, ns in PREFIXES.items()}}
    return dict(sorted(merged.items()))


def parse_canonical(source: bytes | FilePath, fmt: RdfFormat) -> Iterator[ox.Quad]:
    """pyoxigraph's quads from canonical N-Triples or N-Quads bytes or a file of them."""
    if isinstance(source, FilePath):
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


def jsonld_context(ontology: Graph) -> dict[str, object]:
    """The published ``@context``: vocabulary prefixes and one readable key per emk property.

    Datatype properties with an XSD range coerce to it. Object properties are *not* coerced to
    ``@id``: their values stay ``{"@id": …}`` objects, as in every earlier release of this
    context (users' code reads them so). A key that would shadow a prefix is left out (the
    property stays ``emk:<name>``). Instance prefixes (``country:``) are not declared: several
    share a name with a property (``period``, ``status``), and a JSON-LD term cannot be both.
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


class _Compactor:
    """Compacts canonical tokens against the published context, remembering each IRI's form.

    The rules are those of JSON-LD compaction, restricted to what this context holds: an emk
    property with a term is written by its term; any other IRI as ``prefix:local`` with the
    longest declared namespace (never with an empty local part or one that starts with ``//``,
    which would read back differently), or else in full. A plain string under a term that
    coerces to a datatype must then be written as ``{"@value": …}``, and a typed value is a bare
    string only under the term that coerces to exactly its datatype.
    """

    def __init__(self, context: Mapping[str, object]) -> None:
        inner = context["@context"]
        assert isinstance(inner, dict)
        self.namespaces = sorted(
            ((v, k) for k, v in inner.items() if isinstance(v, str)), key=lambda n: -len(n[0])
        )
        self.terms: dict[str, tuple[str, str | None]] = {}  # property IRI → key, coerced type
        for key, definition in inner.items():
            if isinstance(definition, dict):
                coerced = definition.get("@type")
                self.terms[self.expand(definition["@id"])] = (key, coerced and self.expand(coerced))
        self.ids: dict[str, str] = {}
        self.keys: dict[str, tuple[str, str | None]] = {}

    def expand(self, value: str) -> str:
        prefix, _, local = value.partition(":")
        return next((ns + local for ns, name in self.namespaces if name == prefix), value)

    def iri(self, iri: str) -> str:
        known = self.ids.get(iri)
        if known is None:
            known = self.ids[iri] = self._compact(iri)
        return known

    def _compact(self, iri: str) -> str:
        for ns, prefix in self.namespaces:
            local = iri[len(ns) :]
            if iri.startswith(ns) and local and not local.startswith("//"):
                return f"{prefix}:{local}"
        return iri

    def key(self, predicate: str) -> tuple[str, str | None]:
        known = self.keys.get(predicate)
        if known is None:
            known = self.keys[predicate] = self.terms.get(predicate) or (self.iri(predicate), None)
        return known

    def node_id(self, token: str) -> str:
        return token if token.startswith("_:") else self.iri(token[1:-1])

    def value(self, token: str, coerced: str | None) -> object:
        if not token.startswith('"'):
            return {"@id": self.node_id(token)}
        text, end = scanstring(token, 1)  # canonical escapes are JSON's too
        suffix = token[end:]
        if suffix.startswith("@"):
            return {"@value": text, "@language": suffix[1:]}
        datatype = suffix[3:-1] if suffix else None
        if datatype == coerced and datatype is not None:
            return text
        if datatype is None:
            return text if coerced is None else {"@value": text}
        return {"@value": text, "@type": self.iri(datatype)}


def jsonld_document(lines: Lines, context: Mapping[str, object]) -> bytes:
    return b"".join(jsonld_chunks(lines, context))


def jsonld_chunks(lines: Lines, context: Mapping[str, object]) -> Iterator[bytes]:
    """Compact JSON-LD of one graph: the published ``@context`` and one node per subject.

    Flattened (blank nodes are referenced by label, not embedded), one node per line in the
    lines' order, keys sorted, single values unwrapped from arrays: what ``jsonld.compact``
    with the context gives, written in one pass instead of rdflib's minutes.
    """
    compactor = _Compactor(context)
    head = json.dumps(context, indent=2, sort_keys=True, ensure_ascii=False)[:-2]
    yield f'{head},\n  "@graph": [\n'.encode()
    separator = "    "
    nodes: list[str] = []
    for subject, group in groupby(lines, key=lambda line: line[: line.index(" ")]):
        node = _node(compactor, subject, list(group))
        nodes.append(separator + json.dumps(node, sort_keys=True, ensure_ascii=False))
        separator = ",\n    "
        if len(nodes) >= _CHUNK // 8:
            yield "".join(nodes).encode()
            nodes.clear()
    yield ("".join(nodes) + "\n  ]\n}\n").encode()


def _node(compactor: _Compactor, subject: str, lines: list[str]) -> dict[str, object]:
    node: dict[str, object] = {"@id": compactor.node_id(subject)}
    start = len(subject) + 1
    edges = (line[start:].split(" ", 1) for line in lines)
    for predicate, group in groupby(edges, key=lambda edge: edge[0]):
        objects = [o for _, o in group]
        if predicate == _RDF_TYPE and not any(o.startswith('"') for o in objects):
            types = [compactor.node_id(o) for o in objects]
            node["@type"] = types[0] if len(types) == 1 else types
            continue
        key, coerced = compactor.key(predicate[1:-1])
        values = [compactor.value(o, coerced) for o in objects]
        node[key] = values[0] if len(values) == 1 else values
    return node


class GraphUnion(Graph):
    """A read-only graph that is the union of others, read through them instead of copied.

    Why: merging the data files into one rdflib graph costs seconds and gigabytes at a million
    triples, while the release only looks things up (description, framing) and counts. A
    triple stated in several parts is yielded once, so ``len`` and iteration are those of the
    merged graph; only lookups touch the parts' indexes.
    """

    def __init__(self, parts: Iterable[Graph], identifier: URIRef | None = None) -> None:
        super().__init__(bind_namespaces="none", identifier=identifier)
        self.parts = tuple(parts)

    def triples(self, triple: Any) -> Iterator[Any]:  # type: ignore[override]
        s, p, o = triple
        if isinstance(p, Path):
            yield from ((_s, p, _o) for _s, _o in p.eval(self, s, o))
        elif len(self.parts) == 1:
            yield from self.parts[0].triples((s, p, o))
        else:
            seen: set[tuple[Node, Node, Node]] = set()
            for part in self.parts:
                for found in part.triples((s, p, o)):
                    if found not in seen:
                        seen.add(found)
                        yield found

    def triples_choices(
        self, triple: Any, context: Any = None
    ) -> Generator[tuple[Node, Node, Node], None, None]:
        position = next(i for i, term in enumerate(triple) if isinstance(term, list))
        for choice in triple[position]:
            pattern = tuple(choice if i == position else t for i, t in enumerate(triple))
            yield from self.triples(pattern)

    def __len__(self) -> int:
        if len(self.parts) == 1:
            return len(self.parts[0])
        return sum(1 for _ in self.triples((None, None, None)))

    def add(self, triple: Any) -> NoReturn:
        raise TypeError("a GraphUnion is read-only")

    def addN(self, quads: Any) -> NoReturn:  # noqa: N802 (rdflib's name)
        raise TypeError("a GraphUnion is read-only")

    def remove(self, triple: Any) -> NoReturn:
        raise TypeError("a GraphUnion is read-only")
