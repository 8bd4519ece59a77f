"""Profiles: what a triple sets off, per predicate and per class, compiled from the closed schema.

The rule modules read these instead of the schema triples, so processing a data triple is a few
tuple walks; :mod:`.compilation` builds them (once per pass, on first use of a predicate/class).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PropertyRules:
    """What a triple ``s p o`` sets off, for one ``p`` (compiled from the closed schema)."""

    domains: tuple[int, ...] = ()
    ranges: tuple[int, ...] = ()
    supers: tuple[int, ...] = ()  # prp-spo1, prp-eqp
    inverses: tuple[int, ...] = ()
    symmetric: bool = False
    transitive: bool = False
    functional: bool = False
    inverse_functional: bool = False
    chains: tuple[tuple[int, tuple[int, ...], int], ...] = ()  # (property, chain, position)
    keys: tuple[tuple[int, tuple[int, ...]], ...] = ()  # (class, key properties)
    has_value: tuple[tuple[int, int], ...] = ()  # (restriction, value)
    some_values: tuple[tuple[int, int], ...] = ()  # (restriction, filler)
    all_values: tuple[tuple[int, int], ...] = ()  # (restriction, filler)
    max_one: tuple[tuple[int, int], ...] = ()  # (restriction, qualifying class or owl:Thing)


@dataclass(frozen=True, slots=True)
class ClassRules:
    """What a triple ``x rdf:type c`` sets off, for one ``c`` (compiled from the closed schema)."""

    supers: tuple[int, ...] = ()  # cax-sco, cax-eqc, cls-int2, cls-uni
    intersections: tuple[tuple[int, frozenset[int]], ...] = ()  # cls-int1: (class, members)
    fillers: tuple[tuple[int, int], ...] = ()  # cls-svf1 with c as filler: (restriction, property)
    all_values: tuple[tuple[int, int], ...] = ()  # c an avf restriction: (property, filler)
    has_value: tuple[tuple[int, int], ...] = ()  # c a hasValue restriction: (property, value)
    max_one: tuple[tuple[int, int], ...] = ()  # c a max-1 restriction: (property, class)
    qualifying: tuple[tuple[int, int], ...] = ()  # c a max-1's onClass: (restriction, property)
    keys: tuple[tuple[int, ...], ...] = ()


NO_PROPERTY_RULES = PropertyRules()
NO_CLASS_RULES = ClassRules()


@dataclass
class ListIndex:
    """The schema's rdf:List axioms, read once per pass and indexed by member."""

    chains: dict[int, list[tuple[int, tuple[int, ...], int]]]
    keys_by_property: dict[int, list[tuple[int, tuple[int, ...]]]]
    keys_by_class: dict[int, list[tuple[int, ...]]]
    intersections: dict[int, list[tuple[int, frozenset[int]]]]
    parts: dict[int, set[int]]  # class -> classes every member also belongs to
    qualifying: dict[int, list[tuple[int, int]]]

    @classmethod
    def empty(cls) -> ListIndex:
        """An index to fill (each entry a list or set on first use)."""
        return cls(
            defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list),
            defaultdict(set), defaultdict(list),
        )  # fmt: skip
