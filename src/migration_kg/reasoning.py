"""Reasoning: the OWL RL closure of ontology + data + links, kept apart as an ``inferred`` graph.

Third step of the flow (validation → **reasoning** → release). Asserted and inferred triples are
never mixed: the release puts what this module returns into ``…/graph/inferred``, so users can
query with or without inference and every asserted triple still traces to a source file.

The closure is computed by owlrl (``Settings.reasoner == "owlrl"``); :func:`infer` is the one
place to plug in a faster engine later. From ``closure - asserted`` it drops what only states
OWL RL's own bookkeeping, which would bloat the release without telling a user anything:

* triples whose subject is a literal (owlrl types every literal: ``"x"@en a rdf:langString``);
* reflexive ``owl:sameAs`` / ``owl:equivalentClass`` / ``owl:equivalentProperty`` /
  ``rdfs:subClassOf`` / ``rdfs:subPropertyOf`` (every node is the same as itself);
* axiomatic triples about the rdf:, rdfs:, owl: and xsd: vocabularies themselves
  (``xsd:date a rdfs:Datatype``, ``owl:Thing rdfs:subClassOf owl:Thing``);
* ``?x a owl:Thing`` / ``?x a rdfs:Resource`` and ``?c rdfs:subClassOf owl:Thing`` (or
  ``rdfs:Resource``) and ``rdfs:domain``/``rdfs:range`` ``owl:Thing``: true of everything.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import owlrl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from migration_kg.errors import ConfigError

log = logging.getLogger(__name__)

REASONERS = ("owlrl",)

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

    @property
    def total(self) -> int:
        return len(self.inferred)


def infer(asserted: Graph, reasoner: str = "owlrl") -> ReasoningResult:
    """Compute the entailments of ``asserted`` that are worth publishing.

    Args:
        asserted: ontology + data + links; left unchanged.
        reasoner: the engine's name; only ``"owlrl"`` exists today.

    Raises:
        ConfigError: if the reasoner is unknown.
    """
    if reasoner not in REASONERS:
        raise ConfigError(f"unknown reasoner {reasoner!r}; use one of: {', '.join(REASONERS)}")
    closure = Graph(bind_namespaces="none")
    closure += asserted
    # Axiomatic and datatype triples are off: they are all noise by the rules above.
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(closure)
    inferred = Graph(bind_namespaces="none")
    dropped = 0
    for triple in closure:
        if triple in asserted:
            continue
        if is_noise(triple):
            dropped += 1
        else:
            inferred.add(triple)
    added = Counter(str(p) for p in inferred.predicates(unique=False))
    log.info("reasoner %s inferred %d triples (%d dropped)", reasoner, len(inferred), dropped)
    return ReasoningResult(inferred=inferred, added=dict(sorted(added.items())), dropped=dropped)


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
