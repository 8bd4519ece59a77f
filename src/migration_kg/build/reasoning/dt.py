"""Datatype rules (OWL 2 RL table 8) as owlrl applies them once, before the fixpoint.

dt-type1 (every OWL RL datatype is an rdfs:Datatype), dt-type2 (a literal is an instance of its
datatype, and of the wider XSD types that subsume it) and the disjointness of the datatypes in
use. dt-not-type (a lexical form its datatype does not allow) concludes false: it is in
:mod:`.inconsistencies`. Unlike owlrl, a resource owl:sameAs an explicitly XSD-typed one is not
typed rdfs:Datatype (owlrl's one-time rule mistakes it for a datatype).
"""

from __future__ import annotations

from itertools import chain

from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions

from migration_kg.build.reasoning.state import ClosureState
from migration_kg.build.reasoning.vocabulary import (
    DATATYPE,
    DISJOINT,
    FIXED_IDS,
    RL_DATATYPES,
    TYPE,
)


def datatype_facts(state: ClosureState, explicit_datatypes: list[tuple[int, int]]) -> None:
    """dt-type1/2, XSD subsumption and disjointness of the datatypes used.

    Args:
        explicit_datatypes: ``(resource, datatype)`` for every asserted ``x rdf:type xsd:…``.
    """
    add, term = state.add, state.terms.term
    used = set()
    for resource, datatype in chain(state.terms.typed_literals, explicit_datatypes):
        add(resource, TYPE, datatype)
        used.add(datatype)
        for wider in OWL_Datatype_Subsumptions.get(term(datatype), ()):
            add(resource, TYPE, FIXED_IDS[wider])
            add(FIXED_IDS[wider], TYPE, DATATYPE)
            used.add(FIXED_IDS[wider])
    for datatype in sorted(RL_DATATYPES):
        add(datatype, TYPE, DATATYPE)
    for left, _, right in OWLRL_Datatypes_Disjointness:
        if FIXED_IDS[left] in used and FIXED_IDS[right] in used:
            add(FIXED_IDS[left], DISJOINT, FIXED_IDS[right])
