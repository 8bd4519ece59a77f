"""Class axiom rules (OWL 2 RL table 7): cax-sco, cax-eqc1/2 — an instance of a class is one of
its super-classes and equivalent classes.

The compiled ``ClassRules.supers`` also holds what cls-int2 (an intersection's members) and
cls-uni (the unions a class is part of) derive, so one loop applies all four. The disjointness
rules of this table (cax-dw, cax-adc) conclude false: they are in :mod:`.inconsistencies`.
"""

from __future__ import annotations

from migration_kg.build.reasoning.profiles import ClassRules
from migration_kg.build.reasoning.state import ClosureState
from migration_kg.build.reasoning.vocabulary import TYPE


def class_axioms(state: ClosureState, rules: ClassRules, x: int) -> None:
    """cax-sco, cax-eqc1/2 (and cls-int2, cls-uni) for ``x rdf:type c``."""
    add = state.add
    for d in rules.supers:
        add(x, TYPE, d)
