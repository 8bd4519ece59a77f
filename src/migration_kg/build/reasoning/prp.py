"""Property rules (OWL 2 RL table 5): what a triple ``s p o`` sets off through ``p``'s axioms.

prp-dom, prp-rng, prp-spo1, prp-eqp1/2, prp-inv1/2, prp-symp, prp-trp, prp-fp, prp-ifp, prp-spo2
(property chains), prp-key and prp-ap. The false-concluding ones (prp-irp, prp-asyp, prp-pdw,
prp-adp, prp-npa1/2) are in :mod:`.inconsistencies`. prp-key follows the profile: two instances
of the class that share a value for *every* key property are the same (owlrl 7.6 compares only
the first n-1, so with a one-property key it makes every two instances the same).
"""

from __future__ import annotations

from collections.abc import Set

from owlrl.OWLRL import OWLRL_Annotation_properties

from migration_kg.build.reasoning.profiles import ClassRules, PropertyRules
from migration_kg.build.reasoning.state import ClosureState
from migration_kg.build.reasoning.vocabulary import ANNOTATION_PROPERTY, SAME, TYPE


def declare_annotation_properties(state: ClosureState) -> None:
    """prp-ap: the annotation properties owlrl declares once."""
    for annotation in OWLRL_Annotation_properties:
        state.add(state.terms.id(annotation), TYPE, ANNOTATION_PROPERTY)


def property_axioms(state: ClosureState, rules: PropertyRules, s: int, p: int, o: int) -> None:
    """prp-dom, -rng, -spo1, -eqp, -inv, -symp, -trp, -fp, -ifp and -spo2 for ``s p o``."""
    add, store = state.add, state.store
    for c in rules.domains:
        add(s, TYPE, c)
    for c in rules.ranges:
        add(o, TYPE, c)
    for q in rules.supers:
        add(s, q, o)
    for q in rules.inverses:
        add(o, q, s)
    if rules.symmetric:
        add(o, p, s)
    if rules.transitive:
        for z in tuple(store.objects(o, p)):
            add(s, p, z)
        for w in tuple(store.subjects(p, s)):
            add(w, p, o)
    if rules.functional:
        state.all_same(o, store.objects(s, p))
    if rules.inverse_functional:
        state.all_same(s, store.subjects(p, o))
    for target, links, position in rules.chains:
        _chain(state, target, links, position, s, o)


def _chain(
    state: ClosureState, target: int, links: tuple[int, ...], position: int, s: int, o: int
) -> None:
    """prp-spo2: extend ``s links[position] o`` to a whole chain, both ways."""
    store = state.store
    starts: Set[int] = {s}
    for link in reversed(links[:position]):
        starts = {u for x in starts for u in store.subjects(link, x)}
    ends: Set[int] = {o}
    for link in links[position + 1 :]:
        ends = {v for y in ends for v in store.objects(y, link)}
    for u in starts:
        for v in ends:
            state.add(u, target, v)


def property_keys(state: ClosureState, rules: PropertyRules, s: int) -> None:
    """prp-key for a triple ``s p o`` whose ``p`` is a key property of a class ``s`` is in."""
    has = state.store.has
    for cls, key in rules.keys:
        if has(s, TYPE, cls):
            _key(state, s, cls, key)


def class_keys(state: ClosureState, rules: ClassRules, x: int, c: int) -> None:
    """prp-key for a triple ``x rdf:type c`` whose class ``c`` has keys."""
    for key in rules.keys:
        _key(state, x, c, key)


def _key(state: ClosureState, x: int, cls: int, key: tuple[int, ...]) -> None:
    """Two instances of ``cls`` sharing a value for every key property are the same."""
    store = state.store
    first, rest = key[0], key[1:]
    for z in tuple(store.objects(x, first)):
        for y in tuple(store.subjects(first, z)):
            if y == x or not store.has(y, TYPE, cls):
                continue
            if all(not store.objects(x, q).isdisjoint(store.objects(y, q)) for q in rest):
                state.add(x, SAME, y)
                state.add(y, SAME, x)
