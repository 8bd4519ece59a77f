"""What changed between two built releases, resource by resource, grouped as a reader asks.

Why per resource: "what changed" means "which commitments, events, next steps… are new, gone or
different", not a bag of triples. Every triple is given to the resource it describes: its subject,
or for a blank node (an ``emk:amount``) the IRI that reaches it. Blank nodes are named after
their content (a hash of their triples), so the same amount in both releases is the same node
whatever label each release gave it, and output is byte-for-byte the same on every run.

Content graphs (ontology, data, links) and derived graphs (inferred, metadata) are compared
separately: a change in the inferred graph is a consequence, never a statement of the report.
Each change gets one *kind* (:data:`KINDS`, in the order a reader wants them): a revised figure
(a new statement with ``prov:wasRevisionOf``), commitments and amounts, events, next steps
added, removed or done (``emk:realisedBy``), status changes, observations, the edition frame,
then anything else.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from migration_kg.core.namespaces import (
    EMK,
    GRAPH_DATA,
    GRAPH_INFERRED,
    GRAPH_LINKS,
    GRAPH_METADATA,
    GRAPH_ONTOLOGY,
    SCHEMA,
)
from migration_kg.editions.releases import ReleaseDir, comparable

CONTENT_GRAPHS = (str(GRAPH_ONTOLOGY), str(GRAPH_DATA), str(GRAPH_LINKS))
DERIVED_GRAPHS = (str(GRAPH_INFERRED), str(GRAPH_METADATA))
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"
_REVISION_OF = "http://www.w3.org/ns/prov#wasRevisionOf"
_STATUS = str(EMK.status)
_REALISED_BY = str(EMK.realisedBy)
_AMOUNT = (str(EMK.amount), str(SCHEMA.value))

# (class, family) in priority order: a planned meeting is a next step before it is an event.
_FAMILIES = (
    (str(EMK.PlannedAction), "next step"),
    (str(EMK.FundingCommitment), "commitment"),
    (str(EMK.Event), "event"),
    (str(EMK.Observation), "observation"),
    (str(EMK.ReportEdition), "edition"),
    (str(EMK.ReportSection), "section"),
)
KINDS = (
    "revised figure",
    "commitment added",
    "commitment removed",
    "amount changed",
    "commitment changed",
    "event added",
    "event removed",
    "event changed",
    "next step added",
    "next step removed",
    "next step done",
    "next step changed",
    "status changed",
    "observation added",
    "observation removed",
    "observation changed",
    "edition added",
    "edition removed",
    "edition changed",
    "section added",
    "section removed",
    "section changed",
    "term added",
    "term removed",
    "term changed",
    "resource added",
    "resource removed",
    "resource changed",
    "new source",
    "inferred",
    "release metadata",
)
_KIND_ORDER = {kind: index for index, kind in enumerate(KINDS)}
_GRAPH_ORDER = {graph: index for index, graph in enumerate(CONTENT_GRAPHS + DERIVED_GRAPHS)}

Triple = tuple[str, str, str]  # N-Triples tokens: subject, predicate, object
Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
TermTriple = tuple[Term, Term, Term]
Graphs = Mapping[str, set[TermTriple]]


@dataclass(frozen=True)
class Change:
    """One resource changed in one graph, with its triples added and removed."""

    resource: str
    graph: str
    change: str  # added | removed | changed
    kind: str
    plus: tuple[Triple, ...]  # sorted N-Triples tokens
    minus: tuple[Triple, ...]

    @property
    def added(self) -> tuple[str, ...]:
        """The triples added, as N-Triples lines."""
        return tuple(f"{s} {p} {o} ." for s, p, o in self.plus)

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(f"{s} {p} {o} ." for s, p, o in self.minus)

    @property
    def derived(self) -> bool:
        return self.graph in DERIVED_GRAPHS

    def mentions(self, iri: str) -> bool:
        """Whether the resource is ``iri`` or one of its changed triples names it."""
        token = f"<{iri}>"
        return self.resource == iri or any(token in t for t in self.plus + self.minus)

    def values(self, predicate: str, *, added: bool = True) -> tuple[str, ...]:
        """The objects (N-Triples tokens) of the resource's own added or removed triples."""
        own, wanted = f"<{self.resource}>", f"<{predicate}>"
        side = self.plus if added else self.minus
        return tuple(o for s, p, o in side if s == own and p == wanted)


@dataclass(frozen=True)
class ReleaseDiff:
    """The changes from ``old`` to ``new``: content changes first, then derived ones."""

    old: str
    new: str
    changes: tuple[Change, ...]
    labels: Mapping[str, str]  # IRI → rdfs:label (new release first), for people
    related: Mapping[
        str, frozenset[str]
    ]  # changed resource → the IRIs it links to (either release)

    @property
    def content(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if not c.derived)

    @property
    def derived(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.derived)

    def concerning(self, iri: str) -> tuple[Change, ...]:
        """The content changes about ``iri``: of it, naming it, or of a resource linking to it
        (a partnership whose partner it is changes status: the country page shows it)."""
        return tuple(
            c
            for c in self.content
            if c.mentions(iri) or iri in self.related.get(c.resource, frozenset())
        )


def diff_releases(old: ReleaseDir, new: ReleaseDir) -> ReleaseDiff:
    """Compare two release directories.

    Raises:
        ReleaseError: the releases belong to different ontology major versions.
        SourceError: a release has no readable N-Quads artefact.
    """
    comparable(old, new)
    before, after = _graphs(old.quads()), _graphs(new.quads())
    types = _Types(before, after)
    changes: list[Change] = []
    related: dict[str, set[str]] = defaultdict(set)
    for graph in CONTENT_GRAPHS + DERIVED_GRAPHS:
        old_res = _by_resource(before.get(graph, set()))
        new_res = _by_resource(after.get(graph, set()))
        for resource in sorted(old_res.keys() | new_res.keys()):
            was, now = old_res.get(resource, set()), new_res.get(resource, set())
            if was == now:
                continue
            change = "added" if not was else "removed" if not now else "changed"
            if graph in CONTENT_GRAPHS:
                related[resource] |= {o[1:-1] for _, _, o in was | now if o.startswith("<")}
            added, removed = now - was, was - now
            kind = _kind(graph, change, types.family(resource), added, removed)
            changes.append(
                Change(resource, graph, change, kind, tuple(sorted(added)), tuple(sorted(removed)))
            )
    changes.sort(key=lambda c: (_GRAPH_ORDER[c.graph], _KIND_ORDER[c.kind], c.resource))
    links = {resource: frozenset(iris) for resource, iris in related.items()}
    return ReleaseDiff(old.version, new.version, tuple(changes), _labels(after, before), links)


def _graphs(quads: Iterable[ox.Quad]) -> dict[str, set[TermTriple]]:
    graphs: dict[str, set[TermTriple]] = defaultdict(set)
    for quad in quads:
        name = quad.graph_name
        graphs[name.value if isinstance(name, ox.NamedNode) else ""].add(
            (quad.subject, quad.predicate, quad.object)
        )
    return graphs


def _by_resource(triples: set[TermTriple]) -> dict[str, set[Triple]]:
    """Each triple under the resource it describes, blank nodes named after their content."""
    outgoing: dict[Term, list[tuple[Term, Term]]] = defaultdict(list)
    incoming: dict[Term, list[Term]] = defaultdict(list)
    for s, p, o in triples:
        outgoing[s].append((p, o))
        if isinstance(o, ox.BlankNode):
            incoming[o].append(s)
    names: dict[Term, str] = {}

    def token(term: Term, seen: frozenset[Term] = frozenset()) -> str:
        if not isinstance(term, ox.BlankNode):
            return str(term)
        if term not in names:
            if term in seen:  # a cycle of blank nodes: name it by position, not content
                return "_:cycle"
            inner = sorted(f"{p} {token(o, seen | {term})}" for p, o in outgoing[term])
            names[term] = "_:b" + hashlib.sha256("\n".join(inner).encode()).hexdigest()[:20]
        return names[term]

    def owner(term: Term, seen: frozenset[Term] = frozenset()) -> str:
        if not isinstance(term, ox.BlankNode):
            return term.value if isinstance(term, ox.NamedNode) else str(term)
        parents = [s for s in incoming[term] if s not in seen]
        if not parents:
            return token(term)
        return min(owner(s, seen | {term}) for s in parents)

    described: dict[str, set[Triple]] = defaultdict(set)
    for s, p, o in triples:
        described[owner(s)].add((token(s), str(p), token(o)))
    return described


def _predicates(triples: set[Triple]) -> set[str]:
    return {p[1:-1] for _, p, _ in triples}


def _kind(graph: str, change: str, family: str, added: set[Triple], removed: set[Triple]) -> str:
    """The one label a reader files this change under."""
    if graph == str(GRAPH_INFERRED):
        return "inferred"
    if graph == str(GRAPH_METADATA):
        return "release metadata"
    if graph == str(GRAPH_ONTOLOGY):
        family = "term"
    plus, minus = _predicates(added), _predicates(removed)
    if change == "added" and _REVISION_OF in plus:
        return "revised figure"
    if change != "changed":
        return f"{family} {change}"
    if family == "next step" and _REALISED_BY in plus:
        return "next step done"
    if _STATUS in plus | minus:
        return "status changed"
    if family == "commitment" and (set(_AMOUNT) & (plus | minus)):
        return "amount changed"
    if plus <= {_DERIVED_FROM} and not minus:
        return "new source"
    return f"{family} changed"


class _Types:
    """The classes of each resource in either release, closed under rdfs:subClassOf."""

    def __init__(self, *releases: Graphs) -> None:
        self._types: dict[str, set[str]] = defaultdict(set)
        self._supers: dict[str, set[str]] = defaultdict(set)
        for graphs in releases:
            for s, p, o in graphs.get(str(GRAPH_ONTOLOGY), set()):
                if _iri(p) == _SUBCLASS and (_iri(s) and _iri(o)):
                    self._supers[str(_iri(s))].add(str(_iri(o)))
            for name in CONTENT_GRAPHS:
                for s, p, o in graphs.get(name, set()):
                    if _iri(p) == _RDF_TYPE and (_iri(s) and _iri(o)):
                        self._types[str(_iri(s))].add(str(_iri(o)))

    def family(self, resource: str) -> str:
        classes = self._closure(self._types.get(resource, set()))
        return next((name for cls, name in _FAMILIES if cls in classes), "resource")

    def _closure(self, classes: set[str]) -> set[str]:
        todo, seen = list(classes), set(classes)
        while todo:
            for parent in self._supers.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen


def _iri(term: Term) -> str | None:
    return term.value if isinstance(term, ox.NamedNode) else None


def _labels(*releases: Graphs) -> dict[str, str]:
    labels: dict[str, str] = {}
    for graphs in releases:
        for name in CONTENT_GRAPHS:
            for s, p, o in sorted(graphs.get(name, set()), key=str):
                if _iri(p) == _LABEL and isinstance(s, ox.NamedNode):
                    labels.setdefault(s.value, o.value if isinstance(o, ox.Literal) else str(o))
    return labels
