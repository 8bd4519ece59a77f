"""The engine's working state: terms, store, processing queues, profiles, and the reads they share.

Every rule module receives one :class:`ClosureState` and derives through :meth:`ClosureState.add`,
so storing, queueing and noticing a schema change happen in one place. The helpers here read
what several rule tables read: rdf:Lists, max cardinalities, and error messages naming terms.
"""

from __future__ import annotations

from collections.abc import Set

from rdflib import Literal

from migration_kg.build.reasoning.profiles import ClassRules, ListIndex, PropertyRules
from migration_kg.build.reasoning.terms import Store, Terms
from migration_kg.build.reasoning.vocabulary import FIRST, REST, SAME, Triple, is_schema
from migration_kg.core.errors import ReasoningError


class ClosureState:
    """The store, the queue of triples to process and the compiled profiles the rules read."""

    def __init__(self) -> None:
        self.terms = Terms()
        self.store = Store()
        self.asserted: list[Triple] = []
        self.derived: list[Triple] = []  # in derivation order; also the processing queue
        self.schema_queue: list[Triple] = []
        self.schema_changed = False
        self.property_rules: dict[int, PropertyRules] = {}
        self.class_rules: dict[int, ClassRules] = {}
        self.lists = ListIndex.empty()

    def add(self, s: int, p: int, o: int) -> None:
        """Derive a triple: store it and queue it (a literal predicate is never stored)."""
        if p < 0 or not self.store.insert(s, p, o):
            return
        triple = (s, p, o)
        self.derived.append(triple)
        if is_schema(s, p, o):
            self.schema_queue.append(triple)
            self.schema_changed = True

    def all_same(self, y: int, others: Set[int]) -> None:
        """``y owl:sameAs z`` both ways for every other ``z`` (prp-fp, prp-ifp, cls-maxc2…)."""
        for z in tuple(others):
            if z != y:
                self.add(y, SAME, z)
                self.add(z, SAME, y)

    # --- reading rdf:Lists -------------------------------------------------------------------

    def members_of(self, heads: Set[int]) -> list[int]:
        return [member for head in tuple(heads) for member in self.list_members(head)]

    def list_members(self, head: int) -> tuple[int, ...]:
        """The members of an rdf:List, as rdflib's ``Graph.items`` reads it.

        Raises:
            ReasoningError: the list is circular or a cell is ambiguous.
        """
        members: list[int] = []
        seen: set[int] = set()
        node: int | None = head
        while node is not None:
            if node in seen:
                raise ReasoningError(f"rdf:List {self.terms.term(head).n3()} is circular")
            seen.add(node)
            first = self._only(node, FIRST)
            if first is not None:
                members.append(first)
            node = self._only(node, REST)
        return tuple(members)

    def _only(self, node: int, p: int) -> int | None:
        values = self.store.objects(node, p)
        if len(values) <= 1:
            return next(iter(values), None)
        chosen = min(values)
        if all(v == chosen or self.store.has(chosen, SAME, v) for v in values):
            return chosen  # the same node under several names: any of them will do
        raise ReasoningError(
            f"rdf:List cell {self.terms.term(node).n3()} has {len(values)} "
            f"{self.terms.term(p).n3()} values"
        )

    # --- cardinalities and messages ------------------------------------------------------------

    def cardinality(self, restriction: int, p: int, value: int) -> int:
        """The 0 or 1 of an owl:max(Qualified)Cardinality (cls-maxc / cls-maxqc).

        Raises:
            ReasoningError: any other cardinality (outside OWL 2 RL).
        """
        literal = self.terms.term(value)
        number = literal.value if isinstance(literal, Literal) else None
        if isinstance(number, bool) or number not in (0, 1):
            raise ReasoningError(
                f"{self.n3(restriction)} {self.n3(p)} {literal.n3()}: "
                "the rules reasoner implements only max cardinalities 0 and 1 (OWL 2 RL)"
            )
        return int(number)

    def unsupported(self, construct: int, subject: int) -> ReasoningError:
        """The error for an OWL construct outside the rules this engine implements."""
        return ReasoningError(
            f"{self.n3(construct)} (on {self.n3(subject)}) is outside "
            "the OWL 2 RL rules the rules reasoner implements; owlrl ignores it silently "
            "(build with --reasoner owlrl, or remove the construct)"
        )

    def n3(self, number: int) -> str:
        return str(self.terms.term(number).n3())
