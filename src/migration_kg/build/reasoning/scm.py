"""Schema rules (OWL 2 RL table 9): every scm-* rule, closing the schema before the data runs.

:func:`schema_rules` applies the rules one of whose premises is a given schema triple (a
declaration, a sub-class or sub-property, an equivalence, a domain or range);
:func:`restriction_rules` evaluates the rules over restrictions, intersections and unions in
full (few triples). The engine alternates the two until the schema stops changing. An OWL
construct outside OWL 2 RL's rules met here raises :class:`ReasoningError`.
"""

from __future__ import annotations

from collections.abc import Set

from migration_kg.build.reasoning.state import ClosureState
from migration_kg.build.reasoning.vocabulary import (
    ALL_VALUES,
    CLASS,
    DECLARED_PROPERTY,
    DOMAIN,
    EQC,
    EQP,
    HAS_VALUE,
    INTERSECTION,
    MAX,
    MAX_QUALIFIED,
    NOTHING,
    ON_PROPERTY,
    RANGE,
    SCO,
    SOME_VALUES,
    SPO,
    THING,
    TYPE,
    UNION,
    UNSUPPORTED_IDS,
)


def schema_rules(state: ClosureState, s: int, p: int, o: int) -> None:
    """The scm-* rules with ``s p o`` as a premise.

    Raises:
        ReasoningError: ``s p o`` uses a construct outside OWL 2 RL's rules.
    """
    add = state.add
    if p == TYPE:
        _declaration(state, s, o)
    elif p == SCO:
        _subclass(state, s, o)
    elif p == SPO and s != o:
        _subproperty(state, s, o)
    elif p in (EQC, EQP) and s != o:  # scm-eqc1, scm-eqp1
        narrower = SCO if p == EQC else SPO
        add(s, narrower, o)
        add(o, narrower, s)
    elif p in (DOMAIN, RANGE):  # scm-dom1/2, scm-rng1/2
        for c in tuple(state.store.objects(o, SCO)):
            if c != o:
                add(s, p, c)
        for q in tuple(state.store.subjects(SPO, s)):
            if q != s:
                add(q, p, o)
    elif p in (MAX, MAX_QUALIFIED):
        state.cardinality(s, p, o)  # refuses what OWL 2 RL does not define
    elif p in UNSUPPORTED_IDS:
        raise state.unsupported(p, s)


def _declaration(state: ClosureState, s: int, o: int) -> None:
    """scm-cls, scm-op, scm-dp (owlrl also counts rdf:Property)."""
    add = state.add
    if o == CLASS:
        add(s, SCO, s)
        add(s, EQC, s)
        add(s, SCO, THING)
        add(NOTHING, SCO, s)
    elif o in DECLARED_PROPERTY:
        add(s, SPO, s)
        add(s, EQP, s)
    elif o in UNSUPPORTED_IDS:
        raise state.unsupported(o, s)


def _subclass(state: ClosureState, c1: int, c2: int) -> None:
    """scm-sco (both premises), scm-eqc2, scm-dom1 and scm-rng1 for ``c1 ⊑ c2``."""
    store, add = state.store, state.add
    if c1 != c2:
        for c3 in tuple(store.objects(c2, SCO)):
            if c3 != c1:
                add(c1, SCO, c3)
        for relation in (DOMAIN, RANGE):
            for p in tuple(store.subjects(relation, c1)):
                add(p, relation, c2)
    for c0 in tuple(store.subjects(SCO, c1)):
        if c0 not in (c1, c2):
            add(c0, SCO, c2)
    if store.has(c2, SCO, c1):
        add(c1, EQC, c2)
        add(c2, EQC, c1)


def _subproperty(state: ClosureState, p1: int, p2: int) -> None:
    """scm-spo (both premises), scm-eqp2, scm-dom2 and scm-rng2 for ``p1 ⊑ p2``, p1 ≠ p2."""
    store, add = state.store, state.add
    for p3 in tuple(store.objects(p2, SPO)):
        if p3 != p1:
            add(p1, SPO, p3)
    for p0 in tuple(store.subjects(SPO, p1)):
        if p0 not in (p1, p2):
            add(p0, SPO, p2)
    if store.has(p2, SPO, p1):
        add(p1, EQP, p2)
        add(p2, EQP, p1)
    for relation in (DOMAIN, RANGE):
        for c in tuple(store.objects(p2, relation)):
            add(p1, relation, c)


def restriction_rules(state: ClosureState) -> None:
    """scm-hv, scm-svf1/2, scm-avf1/2, scm-int and scm-uni, evaluated in full."""
    store = state.store
    for kind in (SOME_VALUES, ALL_VALUES):  # scm-svf1, scm-avf1: same property
        for restrictions in list(store.reverse(ON_PROPERTY).values()):
            _nested_restrictions(state, restrictions, kind, SCO, forward=True)
    for kind, forward in ((HAS_VALUE, True), (SOME_VALUES, True), (ALL_VALUES, False)):
        for restrictions in list(store.reverse(kind).values()):  # same value or filler
            _nested_restrictions(state, restrictions, ON_PROPERTY, SPO, forward=forward)
    for cls, heads in list(store.spo.get(INTERSECTION, {}).items()):
        for member in state.members_of(heads):
            state.add(cls, SCO, member)
    for cls, heads in list(store.spo.get(UNION, {}).items()):
        for member in state.members_of(heads):
            state.add(member, SCO, cls)


def _nested_restrictions(
    state: ClosureState, restrictions: Set[int], via: int, order: int, *, forward: bool
) -> None:
    """``c1 ⊑ c2`` (or ``c2 ⊑ c1``) when their ``via`` values are ordered by ``order``."""
    store = state.store
    for c1 in tuple(restrictions):
        for c2 in tuple(restrictions):
            ordered = any(
                store.has(a, order, b)
                for a in store.objects(c1, via)
                for b in store.objects(c2, via)
            )
            if ordered:
                state.add(*((c1, SCO, c2) if forward else (c2, SCO, c1)))
