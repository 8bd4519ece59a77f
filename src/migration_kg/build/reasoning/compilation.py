"""Compilation: the closed schema turned into profiles (what each predicate and class sets off).

Run between schema closure and data processing: :func:`index_lists` reads the schema's
rdf:List axioms once per pass; :func:`compile_property` and :func:`compile_class` build a
profile on first use of a predicate or class. A profile with nothing in it is the shared
``NO_…_RULES`` object, so the engine skips it with one identity test.
"""

from __future__ import annotations

from migration_kg.build.reasoning.profiles import (
    NO_CLASS_RULES,
    NO_PROPERTY_RULES,
    ClassRules,
    ListIndex,
    PropertyRules,
)
from migration_kg.build.reasoning.state import ClosureState
from migration_kg.build.reasoning.vocabulary import (
    ALL_VALUES,
    CHAIN,
    CHARACTERISTICS,
    DOMAIN,
    EMPTY,
    EQC,
    EQP,
    FUNCTIONAL,
    HAS_KEY,
    HAS_VALUE,
    INTERSECTION,
    INVERSE,
    INVERSE_FUNCTIONAL,
    MAX,
    MAX_QUALIFIED,
    ON_CLASS,
    ON_PROPERTY,
    RANGE,
    SCO,
    SOME_VALUES,
    SPO,
    SYMMETRIC,
    THING,
    TRANSITIVE,
    TYPE,
    UNION,
)


def index_lists(state: ClosureState) -> ListIndex:
    """Property chains, keys, intersections, unions and qualified max-1s, indexed by member."""
    store = state.store
    index = ListIndex.empty()
    for target, heads in store.spo.get(CHAIN, {}).items():
        for head in heads:
            links = state.list_members(head)
            for position, link in enumerate(links):
                index.chains[link].append((target, links, position))
    for cls, heads in store.spo.get(HAS_KEY, {}).items():
        for key in filter(None, (state.list_members(head) for head in heads)):
            index.keys_by_class[cls].append(key)
            for p in set(key):
                index.keys_by_property[p].append((cls, key))
    _index_class_lists(state, index)
    for restriction, values in store.spo.get(MAX_QUALIFIED, {}).items():
        if any(state.cardinality(restriction, MAX_QUALIFIED, v) == 1 for v in values):
            for c in store.objects(restriction, ON_CLASS):
                for p in store.objects(restriction, ON_PROPERTY):
                    index.qualifying[c].append((restriction, p))
    return index


def _index_class_lists(state: ClosureState, index: ListIndex) -> None:
    for cls, heads in state.store.spo.get(INTERSECTION, {}).items():
        for members in filter(None, (state.list_members(head) for head in heads)):
            index.parts[cls].update(members)
            for member in set(members):
                index.intersections[member].append((cls, frozenset(members)))
    for cls, heads in state.store.spo.get(UNION, {}).items():
        for member in state.members_of(heads):
            index.parts[member].add(cls)


def compile_property(state: ClosureState, p: int) -> PropertyRules:
    """The profile of predicate ``p``."""
    store = state.store
    equivalents = store.objects(p, EQP) | store.subjects(EQP, p)
    characteristics = store.objects(p, TYPE) & CHARACTERISTICS
    restrictions = _restrictions_on(state, p)
    rules = PropertyRules(
        domains=tuple(store.objects(p, DOMAIN)),
        ranges=tuple(store.objects(p, RANGE)),
        supers=tuple((store.objects(p, SPO) | equivalents) - {p}),
        inverses=tuple(store.objects(p, INVERSE) | store.subjects(INVERSE, p)),
        symmetric=SYMMETRIC in characteristics,
        transitive=TRANSITIVE in characteristics,
        functional=FUNCTIONAL in characteristics,
        inverse_functional=INVERSE_FUNCTIONAL in characteristics,
        chains=tuple(state.lists.chains.get(p, ())),
        keys=tuple(state.lists.keys_by_property.get(p, ())),
        has_value=restrictions["has_value"],
        some_values=restrictions["some_values"],
        all_values=restrictions["all_values"],
        max_one=restrictions["max_one"],
    )
    return NO_PROPERTY_RULES if rules == NO_PROPERTY_RULES else rules


def _restrictions_on(state: ClosureState, p: int) -> dict[str, tuple[tuple[int, int], ...]]:
    store = state.store
    found: dict[str, list[tuple[int, int]]] = {
        name: [] for name in ("has_value", "some_values", "all_values", "max_one")
    }
    for r in store.subjects(ON_PROPERTY, p):
        found["has_value"] += [(r, v) for v in store.objects(r, HAS_VALUE)]
        found["some_values"] += [(r, y) for y in store.objects(r, SOME_VALUES)]
        found["all_values"] += [(r, y) for y in store.objects(r, ALL_VALUES)]
        found["max_one"] += [(r, q) for q in _max_one_qualifiers(state, r)]
    return {name: tuple(pairs) for name, pairs in found.items()}


def _max_one_qualifiers(state: ClosureState, r: int) -> list[int]:
    """owl:Thing for a max-1 cardinality restriction, its onClass for a qualified one."""
    store = state.store
    qualifiers = []
    if any(state.cardinality(r, MAX, v) == 1 for v in store.objects(r, MAX)):
        qualifiers.append(THING)
    if any(state.cardinality(r, MAX_QUALIFIED, v) == 1 for v in store.objects(r, MAX_QUALIFIED)):
        qualifiers += store.objects(r, ON_CLASS)
    return qualifiers


def compile_class(state: ClosureState, c: int) -> ClassRules:
    """The profile of class ``c`` (what ``x rdf:type c`` sets off)."""
    store = state.store
    properties = store.objects(c, ON_PROPERTY)
    equivalents = store.objects(c, EQC) | store.subjects(EQC, c)
    supers = store.objects(c, SCO) | equivalents | state.lists.parts.get(c, EMPTY)
    rules = ClassRules(
        supers=tuple(supers - {c}),
        intersections=tuple(state.lists.intersections.get(c, ())),
        fillers=tuple(
            (r, p) for r in store.subjects(SOME_VALUES, c) for p in store.objects(r, ON_PROPERTY)
        ),
        all_values=tuple((p, y) for y in store.objects(c, ALL_VALUES) for p in properties),
        has_value=tuple((p, v) for v in store.objects(c, HAS_VALUE) for p in properties),
        max_one=tuple((p, q) for q in _max_one_qualifiers(state, c) for p in properties),
        qualifying=tuple(state.lists.qualifying.get(c, ())),
        keys=tuple(state.lists.keys_by_class.get(c, ())),
    )
    return NO_CLASS_RULES if rules == NO_CLASS_RULES else rules
