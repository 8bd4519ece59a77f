"""JSON-LD: the published ``@context`` and the compact document written from canonical lines.

Why here and not pyoxigraph: its JSON-LD writer only writes expanded JSON-LD with full IRIs and
ignores a term context, while ``emk.jsonld`` stays *compact* JSON-LD with readable keys
(``"startDate": "2025-01-01"``), which is what a web developer opens the file for. The
compaction is written in one pass over the lines instead of rdflib's minutes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from itertools import groupby
from json.decoder import scanstring  # type: ignore[attr-defined]

from rdflib import Graph, Node, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from migration_kg.build.release.canonical import CHUNK, RDF_TYPE_TOKEN, Lines
from migration_kg.core.namespaces import EMK, PREFIXES


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
        if len(nodes) >= CHUNK // 8:
            yield "".join(nodes).encode()
            nodes.clear()
    yield ("".join(nodes) + "\n  ]\n}\n").encode()


def _node(compactor: _Compactor, subject: str, lines: list[str]) -> dict[str, object]:
    node: dict[str, object] = {"@id": compactor.node_id(subject)}
    start = len(subject) + 1
    edges = (line[start:].split(" ", 1) for line in lines)
    for predicate, group in groupby(edges, key=lambda edge: edge[0]):
        objects = [o for _, o in group]
        if predicate == RDF_TYPE_TOKEN and not any(o.startswith('"') for o in objects):
            types = [compactor.node_id(o) for o in objects]
            node["@type"] = types[0] if len(types) == 1 else types
            continue
        key, coerced = compactor.key(predicate[1:-1])
        values = [compactor.value(o, coerced) for o in objects]
        node[key] = values[0] if len(values) == 1 else values
    return node
