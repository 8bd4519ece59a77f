"""How good is the draft? Measured against an edition encoded by hand (``draft --measure``).

Two numbers per key objective, both against the hand-encoded facts of the edition:

* **recall**: of the figures and dates the encoder stated (numeric and date literals, and period
  IRIs, of the resources derived from the key objective's sections, their amounts included), the
  share the draft proposes in that key objective. A period is proposed when the text gives it
  whole (``Q2/Q3 2025``) or gives each of its ends. What the encoder derived rather than read
  (a comparison period the text leaves implicit, "two tranches" written in words) counts as
  missed: that is the work still left to a person.
* **entity precision**: for each candidate whose value the encoder stated, every entity the
  draft proposes with it is right when the resource stating the value is that entity or links
  to it (directly or through a blank node, e.g. an amount). Candidates whose value the encoder
  did not state have no reference and are not judged.

Measured on the edition the entities come from, resolution is an upper bound: every entity its
text names already exists. A new edition's newly named things are not in the graph yet.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import PROV, XSD
from rdflib.term import Node

from migration_kg.core.names import PERIOD_BASE
from migration_kg.core.namespaces import EMK
from migration_kg.editions.audit import edition_iri
from migration_kg.editions.draft import Candidate, Draft

Item = tuple[str, str]  # ("number", "66800") | ("date", "2025-02-13") | ("period", "2025-Q2")
_NUMBER_KINDS = frozenset({"amount", "count", "ordinal", "percent"})
_PERIOD_KINDS = frozenset({"monthyear", "quarter", "half", "years", "year"})
_NUMERIC = frozenset({XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.int})
_IGNORED = frozenset({EMK.sectionOrder})


@dataclass
class SectionMeasure:
    """The draft against the hand encoding, for one key objective."""

    notation: str
    title: str
    candidates: int = 0
    curated: set[Item] = field(default_factory=set)
    proposed: set[Item] = field(default_factory=set)
    entities: int = 0
    correct: int = 0
    judged: int = 0  # candidates whose value the encoder stated
    resolved: int = 0  # … of which at least one proposed entity is right

    @property
    def recall(self) -> float:
        return 100.0 * len(self.proposed) / len(self.curated) if self.curated else 100.0

    @property
    def precision(self) -> float:
        return 100.0 * self.correct / self.entities if self.entities else 100.0


def measure_draft(draft: Draft, graph: Graph) -> list[SectionMeasure]:
    """Recall of curated figures/dates and precision of entity resolution, per key objective."""
    curated = curated_items(graph, edition_iri(draft.edition))
    measures = {
        h.slug or h.notation: SectionMeasure(h.notation, h.title) for h in draft.outline.top_level
    }
    by_objective: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in draft.candidates:
        by_objective[candidate.key_objective.slug or candidate.key_objective.notation].append(
            candidate
        )
    for slug, measure in measures.items():
        holders = curated.get(slug, {})
        candidates = by_objective.get(slug, [])
        measure.candidates = len(candidates)
        measure.curated = set(holders)
        offered = set().union(*(items_of(c) for c in candidates)) if candidates else set()
        measure.proposed = {item for item in holders if _proposed(item, offered)}
        for candidate in candidates:
            stated = {h for item in items_of(candidate) for h in holders.get(item, ())}
            if not stated:
                continue
            right = [_linked(graph, stated, URIRef(m.iri)) for m in candidate.entities]
            measure.judged += 1
            measure.resolved += any(right)
            measure.entities += len(right)
            measure.correct += sum(right)
    return list(measures.values())


def items_of(candidate: Candidate) -> set[Item]:
    """The facts a candidate value can stand for."""
    kind, normal = candidate.value.kind, candidate.value.normal
    try:
        if kind in _NUMBER_KINDS:
            number = Decimal(normal)
            found = {("number", _text(number))}
            return found | ({("number", _text(-number))} if kind == "percent" else set())
    except InvalidOperation:
        return set()
    if kind == "days":
        days = normal.split()
        found = {("date", d) for d in days} | {("period", d) for d in days}
        return found | ({("period", f"{days[0]}--{days[-1]}")} if len(days) > 1 else set())
    if kind in _PERIOD_KINDS:
        return {("period", normal)} | {("period", part) for part in normal.split("--")}
    return set()


def _proposed(item: Item, offered: set[Item]) -> bool:
    if item in offered:
        return True
    kind, value = item
    return kind == "period" and all(
        ("period", part) in offered or ("date", part) in offered for part in value.split("--")
    )


def curated_items(graph: Graph, edition: URIRef) -> dict[str, dict[Item, set[Node]]]:
    """Key objective slug → each figure/date stated there → the resources stating it."""
    top: dict[Node, str] = {}
    found: dict[str, dict[Item, set[Node]]] = defaultdict(lambda: defaultdict(set))
    for resource, section in graph.subject_objects(PROV.wasDerivedFrom):
        if (section, EMK.inEdition, edition) not in graph or not isinstance(resource, URIRef):
            continue
        objective = top.setdefault(section, _top_slug(graph, section))
        for item in _items_of_resource(graph, resource):
            found[objective][item].add(resource)
    return {slug: dict(items) for slug, items in found.items()}


def _items_of_resource(graph: Graph, resource: Node, depth: int = 0) -> set[Item]:
    items: set[Item] = set()
    for predicate, obj in graph.predicate_objects(resource):
        if predicate in _IGNORED:
            continue
        if isinstance(obj, BNode) and depth < 2:
            items |= _items_of_resource(graph, obj, depth + 1)
        elif isinstance(obj, URIRef) and str(obj).startswith(PERIOD_BASE):
            items.add(("period", str(obj)[len(PERIOD_BASE) :]))
        elif isinstance(obj, Literal) and obj.datatype == XSD.date:
            items.add(("date", str(obj)))
        elif isinstance(obj, Literal) and obj.datatype in _NUMERIC:
            try:
                items.add(("number", _text(Decimal(str(obj)))))
            except InvalidOperation:
                continue
    return items


def _top_slug(graph: Graph, section: Node) -> str:
    current, seen = section, set()
    while (parent := graph.value(current, EMK.parentSection)) is not None and parent not in seen:
        seen.add(parent)
        current = parent
    return str(current).rsplit("/", 1)[-1]


def _linked(graph: Graph, holders: set[Node], entity: URIRef) -> bool:
    """Whether a resource stating the value is the entity or links to it (or via a blank node)."""
    for holder in holders:
        if holder == entity or (holder, None, entity) in graph or (entity, None, holder) in graph:
            return True
        for blank in graph.objects(holder):
            if isinstance(blank, BNode) and (blank, None, entity) in graph:
                return True
    return False


def _text(number: Decimal) -> str:
    return format(number.normalize(), "f")


def render_measure(measures: list[SectionMeasure]) -> str:
    """A Markdown table: candidates, curated figures/dates, recall, entity precision."""
    rows = [
        "| key objective | candidates | curated figures/dates | proposed | recall | "
        "entities proposed | right | precision | candidates with a right entity |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measures:
        rows.append(
            f"| {m.notation} {m.title} | {m.candidates} | {len(m.curated)} | {len(m.proposed)} | "
            f"{m.recall:.1f} % | {m.entities} | {m.correct} | {m.precision:.1f} % | "
            f"{m.resolved} of {m.judged} |"
        )
    curated = sum(len(m.curated) for m in measures)
    proposed = sum(len(m.proposed) for m in measures)
    entities = sum(m.entities for m in measures)
    correct = sum(m.correct for m in measures)
    judged = sum(m.judged for m in measures)
    resolved = sum(m.resolved for m in measures)
    recall = 100.0 * proposed / curated if curated else 100.0
    precision = 100.0 * correct / entities if entities else 100.0
    rows.append(
        f"| **all** | {sum(m.candidates for m in measures)} | {curated} | {proposed} | "
        f"{recall:.1f} % | {entities} | {correct} | {precision:.1f} % | {resolved} of {judged} |"
    )
    return "\n".join(rows) + "\n"
