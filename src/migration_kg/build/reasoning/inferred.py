"""The inferred graph: the OWL RL closure of ontology + data + links, kept apart from them.

Third step of the flow (validation → **reasoning** → release). Asserted and inferred triples are
never mixed: the release puts what this module returns into ``…/graph/inferred``, so users can
query with or without inference and every asserted triple still traces to a source file.

Two engines compute the closure (``Settings.reasoner``, ``--reasoner``): ``Reasoner.RULES`` (the
default, :mod:`.engine`: compiled rules run semi-naively, fast enough for millions of triples)
and ``Reasoner.OWLRL`` (the reference it is tested against: slow, but the library everyone
knows). Both yield the same triples on this repository (see :mod:`.engine` for the few places
where they would differ). From ``closure - asserted`` this module drops what only states
OWL RL's own bookkeeping, which would bloat the release without telling a user anything:

* triples whose subject is a literal (``"5"^^xsd:integer a xsd:decimal``, ``"x" owl:sameAs "x"``);
* reflexive ``owl:sameAs`` / ``owl:equivalentClass`` / ``owl:equivalentProperty`` /
  ``rdfs:subClassOf`` / ``rdfs:subPropertyOf`` (every node is the same as itself);
* axiomatic triples about the rdf:, rdfs:, owl: and xsd: vocabularies themselves
  (``xsd:date a rdfs:Datatype``, ``owl:Thing rdfs:subClassOf owl:Thing``);
* ``?x a owl:Thing`` / ``?x a rdfs:Resource`` and ``?c rdfs:subClassOf owl:Thing`` (or
  ``rdfs:Resource``) and ``rdfs:domain``/``rdfs:range`` ``owl:Thing``: true of everything.

Inconsistencies (two disjoint classes sharing an instance…) do not stop the build, as owlrl never
did: they are logged as warnings and kept in ``ReasoningResult.inconsistencies``, not published
(owlrl adds them to the closure as ``err:ErrorMessage`` nodes; those are taken out).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import owlrl
from owlrl.Namespaces import ERRNS
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from migration_kg.build.collector import collector_paused
from migration_kg.build.reasoning.engine import Entailments, entail
from migration_kg.core.errors import ConfigError
from migration_kg.core.options import Reasoner

log = logging.getLogger(__name__)

_SYSTEM_NAMESPACES = tuple(str(ns) for ns in (RDF, RDFS, OWL, XSD))
_REFLEXIVE_NOISE = frozenset(
    {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty, RDFS.subClassOf, RDFS.subPropertyOf}
)
_TOP_CLASSES = frozenset({OWL.Thing, RDFS.Resource})
_TOP_NOISE_PREDICATES = frozenset({RDF.type, RDFS.subClassOf, RDFS.domain, RDFS.range})


@dataclass(frozen=True)
class ReasoningResult:
    """The inferred graph and what it adds, counted per predicate IRI."""

    inferred: Graph = field(repr=False)
    added: dict[str, int]
    dropped: int  # closure triples discarded as noise (see the module docstring)
    inconsistencies: tuple[str, ...] = ()  # what the closure contradicts, one message each

    @property
    def total(self) -> int:
        return len(self.inferred)


def infer(asserted: Graph, reasoner: Reasoner = Reasoner.RULES) -> ReasoningResult:
    """Compute the entailments of ``asserted`` that are worth publishing.

    Args:
        asserted: ontology + data + links; left unchanged.
        reasoner: the engine.

    Raises:
        ConfigError: ``reasoner`` is not a :class:`Reasoner` (a library caller's typo).
        ReasoningError: the rules engine met a construct it does not implement.
    """
    engine = _ENGINES.get(reasoner)
    if engine is None:
        accepted = ", ".join(Reasoner)
        raise ConfigError(f"unknown reasoner {reasoner!r}; use one of: {accepted}")
    with collector_paused():
        entailments = engine(asserted)
        inferred = Graph(bind_namespaces="none")
        dropped = 0
        for triple in entailments.triples:
            if is_noise(triple):
                dropped += 1
            else:
                inferred.add(triple)
    for message in entailments.inconsistencies:
        log.warning("inconsistent: %s", message)
    added = Counter(str(p) for p in inferred.predicates(unique=False))
    log.info("reasoner %s inferred %d triples (%d dropped)", reasoner, len(inferred), dropped)
    return ReasoningResult(
        inferred=inferred,
        added=dict(sorted(added.items())),
        dropped=dropped,
        inconsistencies=entailments.inconsistencies,
    )


def _owlrl(asserted: Graph) -> Entailments:
    """owlrl's closure minus ``asserted``, its error-message nodes turned into messages."""
    closure = Graph(bind_namespaces="none")
    closure += asserted
    # Axiomatic and datatype triples are off: they are all noise by the rules above.
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(closure)
    errors = set(closure.subjects(RDF.type, ERRNS.ErrorMessage)) - set(
        asserted.subjects(RDF.type, ERRNS.ErrorMessage)
    )
    messages = sorted(str(closure.value(node, ERRNS.error)) for node in errors)
    triples = (t for t in closure if t[0] not in errors and t not in asserted)
    return Entailments(triples=triples, inconsistencies=tuple(messages))


_ENGINES: dict[Reasoner, Callable[[Graph], Entailments]] = {
    Reasoner.RULES: entail,
    Reasoner.OWLRL: _owlrl,
}


def is_noise(triple: tuple[object, object, object]) -> bool:
    """True for an entailment that holds of every graph (see the module docstring)."""
    s, p, o = triple
    if isinstance(s, Literal):
        return True
    if p in _REFLEXIVE_NOISE and s == o:
        return True
    if isinstance(s, URIRef) and str(s).startswith(_SYSTEM_NAMESPACES):
        return True
    return p in _TOP_NOISE_PREDICATES and o in _TOP_CLASSES
