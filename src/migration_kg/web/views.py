"""View models for the linked-data pages: a resource, the ontology, the home page.

Each builder runs internal queries (``src/migration_kg/sparql/*.rq``, the IRI bound through
pyoxigraph substitutions, never spliced into text) and returns plain dataclasses that the Jinja
templates only lay out. The RDF a resource IRI serves (``describe``) and the facts its HTML page
shows come from the same description, so the two representations cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib.namespace import PROV, RDF, RDFS, SKOS

from migration_kg.core.queries import internal_query
from migration_kg.serve.backend import Backend
from migration_kg.web.rendering import OxTerm, TermFormatter, Value
from migration_kg.web.search import INTERNAL_ROW_CAP, INTERNAL_TIMEOUT_S

_HIDDEN_TYPES = {
    "http://www.w3.org/2002/07/owl#NamedIndividual",
    "http://www.w3.org/2002/07/owl#Thing",
}
_LABEL_PROPERTIES = {str(RDFS.label), str(SKOS.prefLabel)}
_SOURCE = str(PROV.wasDerivedFrom)
_MATCHES = {str(SKOS.exactMatch), str(SKOS.closeMatch), "http://www.w3.org/2002/07/owl#sameAs"}
_INBOUND_LIMIT = 300


@dataclass(frozen=True)
class Fact:
    """One property of a resource with its values (several values share a row)."""

    property: Value
    values: list[Value]


@dataclass
class ResourceView:
    """Everything the resource page shows."""

    iri: str
    label: str
    types: list[Value] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    sources: list[Value] = field(default_factory=list)
    external: list[Fact] = field(default_factory=list)
    inbound: list[Fact] = field(default_factory=list)
    type_iris: set[str] = field(default_factory=set)


def exists(engine: Backend, iri: str) -> bool:
    """Whether ``iri`` occurs in the release (as subject or object)."""
    result = engine.query(internal_query("resource-exists.rq"), bindings=_bind(iri))
    return bool(result.boolean)


def describe(engine: Backend, iri: str) -> list[ox.Triple]:
    """The resource's concise bounded description (see ``resource-description.rq``)."""
    return _internal_triples(engine, "resource-description.rq", iri)


def ontology_module(engine: Backend, iri: str) -> list[ox.Triple]:
    """An ontology module's description and the terms it defines; empty for other IRIs."""
    return _internal_triples(engine, "ontology-module.rq", iri)


def _internal_triples(engine: Backend, name: str, iri: str) -> list[ox.Triple]:
    """Run an internal CONSTRUCT about one IRI, with the server's (not the client's) limits."""
    result = engine.query(
        internal_query(name),
        bindings=_bind(iri),
        timeout_s=INTERNAL_TIMEOUT_S,
        row_cap=INTERNAL_ROW_CAP,
    )
    return result.triples


def resource_view(
    engine: Backend, iri: str, triples: list[ox.Triple], fmt: TermFormatter
) -> ResourceView:
    """Group the description by property; amounts and other blank nodes are shown inline."""
    view = ResourceView(iri, fmt.labels.get(iri) or iri)
    blank: dict[str, dict[str, list[OxTerm]]] = defaultdict(lambda: defaultdict(list))
    own: dict[str, list[OxTerm]] = defaultdict(list)
    for triple in triples:
        if isinstance(triple.subject, ox.BlankNode):
            blank[triple.subject.value][triple.predicate.value].append(triple.object)
        elif isinstance(triple.subject, ox.NamedNode) and triple.subject.value == iri:
            own[triple.predicate.value].append(triple.object)
    for type_node in sorted(own.pop(str(RDF.type), []), key=str):
        if isinstance(type_node, ox.NamedNode) and type_node.value not in _HIDDEN_TYPES:
            view.types.append(fmt.term(type_node))
            view.type_iris.add(type_node.value)
    for prop in _LABEL_PROPERTIES:
        own.pop(prop, None)
    view.sources = [fmt.term(t) for t in sorted(own.pop(_SOURCE, []), key=str)]
    for prop in sorted(own, key=lambda p: (fmt.iri(p).text.casefold(), p)):
        values = [_value(term, blank, fmt) for term in own[prop]]
        values.sort(key=lambda v: v.text.casefold())
        fact = Fact(fmt.iri(prop), values)
        (view.external if prop in _MATCHES else view.facts).append(fact)
    view.inbound = _inbound(engine, iri, fmt)
    return view


def _value(term: OxTerm, blank: dict[str, dict[str, list[OxTerm]]], fmt: TermFormatter) -> Value:
    if isinstance(term, ox.BlankNode):
        properties = blank.get(term.value, {})
        amount = fmt.amount(properties)
        if amount is not None:
            return amount
        parts = [
            f"{fmt.iri(p).text}: {fmt.term(v).text}"
            for p, vs in sorted(properties.items())
            if p != str(RDF.type)
            for v in vs
        ]
        return Value("; ".join(parts) or "(blank node)")
    return fmt.term(term)


def _inbound(engine: Backend, iri: str, fmt: TermFormatter) -> list[Fact]:
    result = engine.query(
        internal_query("resource-inbound.rq"), bindings=_bind(iri), row_cap=_INBOUND_LIMIT
    )
    grouped: dict[str, list[Value]] = defaultdict(list)
    for subject, prop, _ in result.rows:
        if subject is not None and prop is not None and prop != _SOURCE:
            grouped[prop].append(fmt.iri(subject))
    return [
        Fact(fmt.iri(prop), sorted(values, key=lambda v: v.text.casefold()))
        for prop, values in sorted(grouped.items(), key=lambda kv: fmt.iri(kv[0]).text.casefold())
    ]


@dataclass
class Term:
    """One class or property on the ontology page."""

    value: Value
    kind: str
    definition: str = ""
    supers: list[Value] = field(default_factory=list)
    subs: list[Value] = field(default_factory=list)
    domain: list[Value] = field(default_factory=list)
    range: list[Value] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return (self.value.iri or "").rpartition("#")[2]


def ontology_terms(engine: Backend, fmt: TermFormatter) -> dict[str, list[Term]]:
    """Classes and properties by kind, each with its definition and neighbours (sub = inverse)."""
    result = engine.query(
        internal_query("ontology-terms.rq"), timeout_s=INTERNAL_TIMEOUT_S, row_cap=INTERNAL_ROW_CAP
    )
    terms: dict[str, Term] = {}
    links: list[tuple[str, str, str]] = []
    for iri, kind, relation, other, definition in result.rows:
        if iri is None or kind is None:
            continue
        term = terms.setdefault(iri, Term(fmt.iri(iri), kind.rpartition("#")[2]))
        term.definition = definition or term.definition
        if relation and other:
            links.append((iri, relation, other))
    for iri, relation, other in sorted(set(links)):
        term = terms[iri]
        target = {"super": term.supers, "domain": term.domain, "range": term.range}[relation]
        target.append(fmt.iri(other))
        if relation == "super" and other in terms:
            terms[other].subs.append(term.value)
    grouped: dict[str, list[Term]] = defaultdict(list)
    for term in sorted(terms.values(), key=lambda t: t.anchor.casefold()):
        grouped["Classes" if term.kind == "Class" else "Properties"].append(term)
    return dict(sorted(grouped.items()))


@dataclass
class HomeView:
    counts: list[tuple[Value, int]]
    routes: list[Value]
    partners: list[Value]
    next_steps: list[tuple[Value, str]]


def home_view(engine: Backend, fmt: TermFormatter, next_steps: int = 10) -> HomeView:
    """Counts per main class and the entry points: routes, partner countries, next steps."""
    counts = engine.query(internal_query("home-counts.rq"), timeout_s=INTERNAL_TIMEOUT_S)
    entries = engine.query(
        internal_query("home-entry-points.rq"),
        timeout_s=INTERNAL_TIMEOUT_S,
        row_cap=INTERNAL_ROW_CAP,
    )
    view = HomeView(
        [(fmt.iri(c), int(n or 0)) for c, n in counts.rows if c is not None], [], [], []
    )
    for kind, item, start in entries.rows:
        if item is None:
            continue
        if kind == "route":
            view.routes.append(fmt.iri(item))
        elif kind == "partner":
            view.partners.append(fmt.iri(item))
        elif kind == "next-step" and len(view.next_steps) < next_steps:
            view.next_steps.append((fmt.iri(item), start or ""))
    view.routes.sort(key=lambda v: v.text)
    view.partners.sort(key=lambda v: v.text)
    return view


def _bind(iri: str) -> dict[str, ox.NamedNode | ox.Literal]:
    return {"resource": ox.NamedNode(iri)}
