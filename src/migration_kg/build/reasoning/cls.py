"""Class rules (OWL 2 RL table 6): class expressions and restrictions, from either premise.

cls-thing, cls-nothing1, cls-int1/2, cls-uni, cls-svf1/2, cls-avf, cls-hv1/2, cls-maxc2,
cls-maxqc3/4 and cls-oo. A restriction fires from its property's triple ``s p o``
(:func:`property_restrictions`) and from a type triple ``x rdf:type c``
(:func:`class_restrictions`), whichever comes second; cls-int2 and cls-uni are compiled into
a class's super-classes and fire in :mod:`.cax`. The false-concluding ones (cls-nothing2,
cls-com, cls-maxc1, cls-maxqc1/2) are in :mod:`.inconsistencies`. Max cardinalities other
than 0 and 1 are outside OWL 2 RL and refused (see :meth:`.ClosureState.cardinality`).
"""

from __future__ import annotations

from migration_kg.build.reasoning.profiles import ClassRules, PropertyRules
from migration_kg.build.reasoning.state import ClosureState
from migration_kg.build.reasoning.vocabulary import CLASS, NOTHING, ONE_OF, THING, TYPE


def declare_top_classes(state: ClosureState) -> None:
    """cls-thing and cls-nothing1: owl:Thing and owl:Nothing are classes."""
    state.add(THING, TYPE, CLASS)
    state.add(NOTHING, TYPE, CLASS)


def enumerations(state: ClosureState) -> None:
    """cls-oo: each member of an owl:oneOf is an instance of the class (evaluated in full)."""
    for cls, heads in list(state.store.spo.get(ONE_OF, {}).items()):
        for member in state.members_of(heads):
            state.add(member, TYPE, cls)


def property_restrictions(
    state: ClosureState, rules: PropertyRules, s: int, p: int, o: int
) -> None:
    """cls-hv2, cls-svf1/2, cls-avf, cls-maxc2 and cls-maxqc3/4 for ``s p o``."""
    has, add = state.store.has, state.add
    for restriction, value in rules.has_value:
        if o == value:
            add(s, TYPE, restriction)
    for restriction, filler in rules.some_values:
        if filler == THING or has(o, TYPE, filler):
            add(s, TYPE, restriction)
    for restriction, filler in rules.all_values:
        if has(s, TYPE, restriction):
            add(o, TYPE, filler)
    for restriction, qualifier in rules.max_one:
        if has(s, TYPE, restriction):
            _one_value(state, s, p, o, qualifier)


def class_restrictions(state: ClosureState, rules: ClassRules, x: int, c: int) -> None:
    """cls-int1, cls-svf1, cls-avf, cls-hv1, cls-maxc2 and cls-maxqc3/4 for ``x rdf:type c``."""
    store, add = state.store, state.add
    for cls, members in rules.intersections:
        if members <= store.objects(x, TYPE):
            add(x, TYPE, cls)
    for restriction, p in rules.fillers:
        for u in tuple(store.subjects(p, x)):
            add(u, TYPE, restriction)
    for p, filler in rules.all_values:
        for v in tuple(store.objects(x, p)):
            add(v, TYPE, filler)
    for p, value in rules.has_value:
        add(x, p, value)
    for p, qualifier in rules.max_one:
        for y in tuple(store.objects(x, p)):
            _one_value(state, x, p, y, qualifier)
    for restriction, p in rules.qualifying:
        for u in tuple(store.subjects(p, x)):
            if store.has(u, TYPE, restriction):
                _one_value(state, u, p, x, c)


def _one_value(state: ClosureState, u: int, p: int, y: int, qualifier: int) -> None:
    """cls-maxc2 / cls-maxqc3-4: u has at most one (qualifying) p value, and y is one."""
    has = state.store.has
    if qualifier != THING and not has(y, TYPE, qualifier):
        return
    others = state.store.objects(u, p)
    if qualifier != THING:
        others = {z for z in others if has(z, TYPE, qualifier)}
    state.all_same(y, others)
