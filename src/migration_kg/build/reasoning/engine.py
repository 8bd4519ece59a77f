"""The ``rules`` reasoner's driver: load, close the schema, fire each triple once, repeat.

Why a second engine: owlrl (still the reference, ``--reasoner owlrl``) re-applies every rule to
every triple of the graph in each cycle and looks every premise up in an rdflib store: 4 s for
the repository's 9k triples, ~40 s at 100k, no end in sight at 1M. This engine derives the same
triples (the tests compare the two on the repository and on a graph per rule family) in a
fraction of that, because:

* terms are interned as integers (literals negative, so "never a literal predicate" is ``p < 0``)
  and triples are held in per-predicate indexes ``spo[p][s] -> {o}``; the reverse ``o -> {s}``
  is built only for the predicates a rule has to follow backwards;
* the schema is closed first (the scm-* rules, over the few schema triples), then compiled into a
  *profile* per predicate and per class: which domains, ranges, super-properties, restrictions…
  a triple with that predicate, or a type with that class, sets off;
* every triple is then processed once (semi-naive, one triple at a time): its profile's rules are
  joined with what is already stored, and what they derive is queued and processed in turn.

A derived triple that changes the schema (a sub-property of rdfs:subClassOf, owl:sameAs between
classes…) marks the pass; the schema is closed again and every triple processed again with the
new profiles, until a pass leaves the schema as it found it. Nothing depends on processing order.

Rules (OWL 2 RL profile, section 4.3, as owlrl 7.6 implements them), one module per table of
the profile: :mod:`.eq`, :mod:`.prp`, :mod:`.cls`, :mod:`.cax`, :mod:`.dt` and :mod:`.scm`;
the false-concluding rules in :mod:`.inconsistencies`, reported as messages (like owlrl, the
engine does not stop at them). The terms and triples live in :mod:`.terms`, the working state
every rule reads and derives through in :mod:`.state`, the compiled profiles in
:mod:`.profiles` and :mod:`.compilation`. This module only drives them.

Where it differs from owlrl 7.6 on purpose (none of it occurs in the repository's graph):

* no eq-ref (see :mod:`.eq`): a schema using owl:sameAs as a property is refused instead;
* prp-key as the profile states it (see :mod:`.prp`), not owlrl's first n-1 key properties;
* owlrl's one-time datatype rule types a resource ``rdfs:Datatype`` when it is owl:sameAs a
  resource explicitly typed with an XSD datatype; that mistake is not copied (:mod:`.dt`);
* inconsistencies are returned as messages rather than added as ``err:ErrorMessage`` nodes;
* OWL constructs outside the rules both engines implement (owl:minCardinality, owl:hasSelf,
  owl:disjointUnionOf…, and max cardinalities other than 0 and 1) raise :class:`ReasoningError`
  where owlrl silently derives nothing from them.

Both engines keep triples with literal subjects while reasoning and drop triples with a blank
node as predicate at the end (owlrl's post-processing); ``is_noise`` then drops the former.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from rdflib import BNode, Graph

from migration_kg.build.reasoning import cax, cls, dt, eq, prp, scm
from migration_kg.build.reasoning.compilation import compile_class, compile_property, index_lists
from migration_kg.build.reasoning.inconsistencies import inconsistencies
from migration_kg.build.reasoning.profiles import NO_CLASS_RULES, NO_PROPERTY_RULES
from migration_kg.build.reasoning.state import ClosureState
from migration_kg.build.reasoning.vocabulary import (
    RL_DATATYPES,
    SAME,
    TYPE,
    TermTriple,
    is_schema,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entailments:
    """What the rules derive beyond the input (iterate once) and the inconsistencies found."""

    triples: Iterator[TermTriple]
    inconsistencies: tuple[str, ...]


def entail(graph: Graph) -> Entailments:
    """Compute the OWL 2 RL closure of ``graph`` (left unchanged) minus ``graph`` itself.

    Raises:
        ReasoningError: the graph uses a construct this engine does not implement.
    """
    state = ClosureState()
    _load(state, graph)
    _run(state)
    return Entailments(triples=_entailed(state), inconsistencies=inconsistencies(state))


def _load(state: ClosureState, graph: Graph) -> None:
    """Intern and store the input, then add owlrl's one-time facts."""
    intern, insert = state.terms.id, state.store.insert
    explicit_datatypes: list[tuple[int, int]] = []
    for s, p, o in graph:
        triple = (intern(s), intern(p), intern(o))
        if triple[1] < 0 or not insert(*triple):
            continue
        state.asserted.append(triple)
        if is_schema(*triple):
            state.schema_queue.append(triple)
        if triple[1] == TYPE and triple[2] in RL_DATATYPES:
            explicit_datatypes.append((triple[0], triple[2]))
    cls.declare_top_classes(state)
    prp.declare_annotation_properties(state)
    dt.datatype_facts(state, explicit_datatypes)


def _run(state: ClosureState) -> None:
    """Close the schema, then process every triple; again while a pass changed the schema."""
    while True:
        _close_schema(state)
        eq.refuse_same_as_as_property(state)
        state.property_rules.clear()
        state.class_rules.clear()
        state.lists = index_lists(state)
        state.schema_changed = False
        for triple in state.asserted:
            _fire(state, *triple)
        position = 0
        while position < len(state.derived):
            _fire(state, *state.derived[position])
            position += 1
        if not state.schema_changed:
            return
        log.info("a derived triple changed the schema: closing it again")


def _close_schema(state: ClosureState) -> None:
    """Apply the scm-* rules (and cls-oo) until the schema triples stop changing."""
    while True:
        while state.schema_queue:
            scm.schema_rules(state, *state.schema_queue.pop())
        scm.restriction_rules(state)
        cls.enumerations(state)
        if not state.schema_queue:
            return


def _fire(state: ClosureState, s: int, p: int, o: int) -> None:
    """Apply every rule one of whose premises is ``s p o``."""
    rules = state.property_rules.get(p)
    if rules is None:
        rules = state.property_rules[p] = compile_property(state, p)
    if rules is not NO_PROPERTY_RULES:
        prp.property_axioms(state, rules, s, p, o)
        cls.property_restrictions(state, rules, s, p, o)
        if rules.keys:
            prp.property_keys(state, rules, s)
    if p == TYPE:
        class_rules = state.class_rules.get(o)
        if class_rules is None:
            class_rules = state.class_rules[o] = compile_class(state, o)
        if class_rules is not NO_CLASS_RULES:
            cax.class_axioms(state, class_rules, s)
            cls.class_restrictions(state, class_rules, s, o)
            if class_rules.keys:
                prp.class_keys(state, class_rules, s, o)
    equals = state.store.spo.get(SAME)
    if equals:
        eq.replace_equals(state, equals, s, p, o)
        if p == SAME and s != o:
            eq.equality(state, s, o)


def _entailed(state: ClosureState) -> Iterator[TermTriple]:
    """The derived triples as rdflib terms, without those with a blank-node predicate."""
    term = state.terms.term
    for s, p, o in state.derived:
        predicate = term(p)
        if not isinstance(predicate, BNode):
            yield term(s), predicate, term(o)
