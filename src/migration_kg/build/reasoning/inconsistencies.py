"""Inconsistency checks: OWL 2 RL's false-concluding rules, run once over the closure.

eq-diff1-3, prp-irp, prp-asyp, prp-pdw, prp-adp, prp-npa1/2, cls-nothing2, cls-com, cls-maxc1,
cls-maxqc1/2, cax-dw, cax-adc and dt-not-type. Like owlrl, the engine does not stop at them: each
is reported as a message (owlrl adds ``err:ErrorMessage`` nodes to the graph instead).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator

from owlrl.DatatypeHandling import AltXSDToPYTHON

from migration_kg.build.reasoning.state import ClosureState
from migration_kg.build.reasoning.vocabulary import (
    ALL_DIFFERENT,
    ALL_DISJOINT_CLASSES,
    ALL_DISJOINT_PROPERTIES,
    ASSERTION_PROPERTY,
    ASYMMETRIC,
    COMPLEMENT,
    DIFFERENT,
    DISJOINT,
    DISTINCT_MEMBERS,
    EMPTY,
    IRREFLEXIVE,
    MAX,
    MAX_QUALIFIED,
    MEMBERS,
    NOTHING,
    ON_CLASS,
    ON_PROPERTY,
    PROPERTY_DISJOINT,
    SAME,
    SOURCE,
    TARGET,
    TARGET_VALUE,
    THING,
    TYPE,
)


def inconsistencies(state: ClosureState) -> tuple[str, ...]:
    """What the closure contradicts, as sorted messages."""
    found: set[str] = set()
    for check in (_bad_literals, _class_clashes, _property_clashes):
        found.update(check(state))
    return tuple(sorted(found))


def _bad_literals(state: ClosureState) -> Iterator[str]:
    """dt-not-type: a literal whose lexical form its datatype does not allow."""
    for number, datatype in state.terms.typed_literals:
        literal = state.terms.literals[-number]
        convert: Callable[[str], object] = AltXSDToPYTHON.get(
            state.terms.term(datatype), lambda v: v
        )
        try:
            convert(str(literal))
        except ValueError:
            yield f"dt-not-type: {literal.n3()} is not a valid value of its datatype"


def _class_clashes(state: ClosureState) -> Iterator[str]:
    """cls-nothing2, cax-dw, cls-com, cax-adc, cls-maxc1, cls-maxqc1/2: one pass over types."""
    store, n3 = state.store, state.n3
    disjoint: dict[int, set[int]] = defaultdict(set)
    for p in (DISJOINT, COMPLEMENT):
        for c1, others in store.spo.get(p, {}).items():
            for c2 in others:
                disjoint[c1].add(c2)
                disjoint[c2].add(c1)
    for group in _member_lists(state, ALL_DISJOINT_CLASSES):
        for i, c1 in enumerate(group):
            for c2 in group[i + 1 :]:
                disjoint[c1].add(c2)
                disjoint[c2].add(c1)
    empty = _empty_restrictions(state)
    # Every class something was typed with in the last pass has a compiled profile.
    if not (disjoint or empty or NOTHING in state.class_rules):
        return
    for x, types in store.spo.get(TYPE, {}).items():
        if NOTHING in types:
            yield f"cls-nothing2: {n3(x)} is an owl:Nothing"
        for c in types:
            for d in disjoint.get(c, EMPTY) & types:
                if c > d:
                    continue  # each pair once
                yield f"cax-dw: {n3(x)} is in the disjoint classes {n3(c)} and {n3(d)}"
            for p, qualifier in empty.get(c, ()):
                if any(qualifier == THING or store.has(y, TYPE, qualifier)
                       for y in store.objects(x, p)):  # fmt: skip
                    yield f"cls-maxc1: {n3(x)} has a {n3(p)} value against {n3(c)}"


def _empty_restrictions(state: ClosureState) -> dict[int, list[tuple[int, int]]]:
    """Max-0 restrictions: (property, qualifying class or owl:Thing) per restriction."""
    store = state.store
    empty: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for kind in (MAX, MAX_QUALIFIED):
        for r, values in store.spo.get(kind, {}).items():
            if any(state.cardinality(r, kind, v) == 0 for v in values):
                qualifiers = store.objects(r, ON_CLASS) if kind == MAX_QUALIFIED else {THING}
                for p in store.objects(r, ON_PROPERTY):
                    empty[r] += [(p, q) for q in qualifiers]
    return empty


def _property_clashes(state: ClosureState) -> Iterator[str]:
    """prp-irp, prp-asyp, prp-pdw, prp-adp, prp-npa1/2, eq-diff1-3."""
    store, n3 = state.store, state.n3
    irreflexive = [p for p in store.spo if store.has(p, TYPE, IRREFLEXIVE)]
    for p in irreflexive:
        for x, objects in store.spo[p].items():
            if x in objects:
                yield f"prp-irp: {n3(x)} {n3(p)} itself"
    for p in [p for p in store.spo if store.has(p, TYPE, ASYMMETRIC)]:
        for x, objects in store.spo[p].items():
            for y in objects:
                if store.has(y, p, x):
                    yield f"prp-asyp: {n3(x)} and {n3(y)} {n3(p)} each other"
    pairs = [(p1, p2) for p1, ps in store.spo.get(PROPERTY_DISJOINT, {}).items() for p2 in ps]
    for group in _member_lists(state, ALL_DISJOINT_PROPERTIES):
        pairs += [(p1, p2) for i, p1 in enumerate(group) for p2 in group[i + 1 :]]
    for p1, p2 in pairs:
        for x, objects in store.spo.get(p1, {}).items():
            for y in objects & store.objects(x, p2):
                yield f"prp-pdw: {n3(x)} {n3(p1)} and {n3(p2)} {n3(y)}"
    yield from _negative_assertions(state)
    yield from _difference_clashes(state)


def _negative_assertions(state: ClosureState) -> Iterator[str]:
    store, n3 = state.store, state.n3
    for x, sources in store.spo.get(SOURCE, {}).items():
        for i1 in sources:
            for p in store.objects(x, ASSERTION_PROPERTY):
                targets = store.objects(x, TARGET) | store.objects(x, TARGET_VALUE)
                for i2 in targets & store.objects(i1, p):
                    yield f"prp-npa: {n3(i1)} {n3(p)} {n3(i2)} is asserted negatively"


def _difference_clashes(state: ClosureState) -> Iterator[str]:
    store, n3 = state.store, state.n3
    for x, others in store.spo.get(DIFFERENT, {}).items():
        for y in others:
            if x == y or store.has(x, SAME, y):
                yield f"eq-diff1: {n3(x)} is both owl:sameAs and owl:differentFrom {n3(y)}"
    for group in _member_lists(state, ALL_DIFFERENT, DISTINCT_MEMBERS):
        for i, z1 in enumerate(group):
            for z2 in group[i + 1 :]:
                if z1 != z2 and store.has(z1, SAME, z2):
                    yield f"eq-diff2: {n3(z1)} and {n3(z2)} are different and the same"


def _member_lists(state: ClosureState, cls: int, *extra: int) -> Iterator[tuple[int, ...]]:
    """The owl:members (or ``extra``) lists of every instance of ``cls``."""
    for p in (MEMBERS, *extra):
        for x, heads in state.store.spo.get(p, {}).items():
            if state.store.has(x, TYPE, cls):
                yield from (state.list_members(head) for head in heads)
