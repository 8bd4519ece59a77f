"""Equality rules (OWL 2 RL table 4): eq-sym, eq-trans, eq-rep-s/p/o; eq-ref left out on purpose.

eq-diff1-3 (contradictions) are in :mod:`.inconsistencies`. Why no eq-ref: owlrl states
``x owl:sameAs x`` for every term, literals included, and the release drops all of them as
noise. So that leaving it out cannot change anything else, a schema that reads owl:sameAs as a
property (a domain on it, a restriction on it, a sub-property of it…) is refused by
:func:`refuse_same_as_as_property`.
"""

from __future__ import annotations

from itertools import chain

from migration_kg.build.reasoning.state import ClosureState
from migration_kg.build.reasoning.vocabulary import (
    CHAIN,
    CHARACTERISTICS,
    DOMAIN,
    EQP,
    HAS_KEY,
    INVERSE,
    ON_PROPERTY,
    RANGE,
    SAME,
    SPO,
    TYPE,
)
from migration_kg.core.errors import ReasoningError


def replace_equals(
    state: ClosureState, equals: dict[int, set[int]], s: int, p: int, o: int
) -> None:
    """eq-rep-s/p/o for a new triple: copy it onto everything its terms are the same as."""
    add = state.add
    for other in tuple(equals.get(s, ())):
        add(other, p, o)
    for other in tuple(equals.get(p, ())):
        add(s, other, o)
    for other in tuple(equals.get(o, ())):
        add(s, p, other)


def equality(state: ClosureState, x: int, y: int) -> None:
    """eq-sym, eq-trans, eq-rep-s/p/o for a new ``x owl:sameAs y``: y gets all x's triples."""
    store, add = state.store, state.add
    store.reverse_all()
    add(y, SAME, x)
    for z in tuple(store.objects(y, SAME)):
        add(x, SAME, z)
    for p, by_subject in list(store.spo.items()):
        for o in tuple(by_subject.get(x, ())):
            add(y, p, o)
        for s in tuple(store.pos[p].get(x, ())):
            add(s, p, y)
    for s, objects in list(store.spo.get(x, {}).items()):
        for o in tuple(objects):
            add(s, y, o)


def refuse_same_as_as_property(state: ClosureState) -> None:
    """owlrl's eq-ref (left out here) would feed any rule reading owl:sameAs as a property.

    Raises:
        ReasoningError: naming the axiom that uses owl:sameAs as a property.
    """
    store = state.store
    uses = {
        "rdfs:domain": store.objects(SAME, DOMAIN),
        "rdfs:range": store.objects(SAME, RANGE),
        "rdfs:subPropertyOf": store.objects(SAME, SPO) - {SAME},
        "owl:equivalentProperty": (store.objects(SAME, EQP) | store.subjects(EQP, SAME)) - {SAME},
        "owl:inverseOf": store.objects(SAME, INVERSE) | store.subjects(INVERSE, SAME),
        "a property characteristic": store.objects(SAME, TYPE) & CHARACTERISTICS,
        "owl:onProperty": store.subjects(ON_PROPERTY, SAME),
        "owl:sameAs": store.objects(SAME, SAME) - {SAME},
    }
    lists = chain(store.spo.get(CHAIN, {}).values(), store.spo.get(HAS_KEY, {}).values())
    if any(SAME in state.members_of(heads) for heads in lists):
        uses["a property chain or key"] = {SAME}
    for axiom, objects in uses.items():
        if objects:
            raise ReasoningError(
                f"owl:sameAs is used as a property ({axiom}); the rules reasoner does not "
                "support that (owlrl's reflexive owl:sameAs on every term would feed it)"
            )
