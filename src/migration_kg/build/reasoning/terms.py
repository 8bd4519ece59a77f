"""The term store of the rules engine: terms interned as integers, triples indexed by predicate.

Why integers and per-predicate indexes: the rules look premises up millions of times; comparing
and hashing small ints is what makes the engine fast (see :mod:`.engine`). Literals get negative
ids, so "never a literal predicate" is ``p < 0``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Set

from rdflib import Literal, Node
from rdflib.namespace import RDF

from migration_kg.build.reasoning.vocabulary import EMPTY, FIXED_IDS, RL_DATATYPES


class Terms:
    """Interning: IRIs and blank nodes get positive ids, literals negative ones."""

    def __init__(self) -> None:
        self.ids: dict[Node, int] = dict(FIXED_IDS)
        self.nodes: list[Node] = [RDF.nil, *FIXED_IDS]  # index 0 is never used
        self.literals: list[Literal] = [Literal("")]  # index 0 is never used
        self.typed_literals: list[tuple[int, int]] = []  # (literal, OWL RL datatype)

    def id(self, term: Node) -> int:
        number = self.ids.get(term)
        if number is None:
            number = self.ids[term] = self._new(term)
        return number

    def _new(self, term: Node) -> int:
        if not isinstance(term, Literal):
            self.nodes.append(term)
            return len(self.nodes) - 1
        self.literals.append(term)
        number = -(len(self.literals) - 1)
        datatype = FIXED_IDS.get(term.datatype) if term.datatype is not None else None
        if datatype in RL_DATATYPES:
            self.typed_literals.append((number, datatype))
        return number

    def term(self, number: int) -> Node:
        return self.nodes[number] if number > 0 else self.literals[-number]


class Store:
    """The triples, by predicate: ``spo[p][s] -> {o}``, and ``pos[p][o] -> {s}`` when asked for."""

    def __init__(self) -> None:
        self.spo: dict[int, dict[int, set[int]]] = {}
        self.pos: dict[int, dict[int, set[int]]] = {}
        self.reverse_everything = False

    def insert(self, s: int, p: int, o: int) -> bool:
        """Store the triple; False if it was there already."""
        by_subject = self.spo.get(p)
        if by_subject is None:
            by_subject = self.spo[p] = {}
            if self.reverse_everything:
                self.pos[p] = {}
        objects = by_subject.get(s)
        if objects is None:
            by_subject[s] = {o}
        elif o in objects:
            return False
        else:
            objects.add(o)
        by_object = self.pos.get(p)
        if by_object is not None:
            subjects = by_object.get(o)
            if subjects is None:
                by_object[o] = {s}
            else:
                subjects.add(s)
        return True

    def has(self, s: int, p: int, o: int) -> bool:
        objects = self.spo.get(p, {}).get(s)
        return objects is not None and o in objects

    def objects(self, s: int, p: int) -> Set[int]:
        return self.spo.get(p, {}).get(s, EMPTY)

    def subjects(self, p: int, o: int) -> Set[int]:
        return self.reverse(p).get(o, EMPTY)

    def reverse(self, p: int) -> dict[int, set[int]]:
        """``o -> {s}`` for ``p``, built on first use and kept up to date from then on."""
        by_object = self.pos.get(p)
        if by_object is None:
            by_object = self.pos[p] = defaultdict(set)
            for s, objects in self.spo.get(p, {}).items():
                for o in objects:
                    by_object[o].add(s)
            by_object.default_factory = None
        return by_object

    def reverse_all(self) -> None:
        """Index every predicate by object (eq-rep-o needs it once an owl:sameAs appears)."""
        if not self.reverse_everything:
            self.reverse_everything = True
            for p in list(self.spo):
                self.reverse(p)
