"""Framed JSON-LD: one self-contained document per partner country, its funding embedded.

Part of the release step. Why: the flat ``emk.jsonld`` is a graph dump; a web developer who wants
"Tunisia and the money committed to it" would have to join nodes by hand. This artefact does the
join once, the way a JSON-LD frame with ``@reverse`` and ``@embed`` would (pyld is not a
dependency, so the frame is applied in code), and stays valid JSON-LD: parsed back, every triple
it states is a triple of the release. Funding is embedded when the country is a direct
``emk:beneficiary`` of a ``emk:FundingCommitment`` (commitments to a whole region are not
repeated under each of its countries). Deterministic: nodes and values are sorted. The three
graphs are read through a :class:`~.union.GraphUnion` (lookups only, no copy).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from migration_kg.build.release.union import GraphUnion
from migration_kg.core.namespaces import EMK, GRAPH_DATA, GRAPH_INFERRED, GRAPH_LINKS, SCHEMA

CONTEXT: dict[str, object] = {
    "emk": str(EMK),
    "rdfs": str(RDFS),
    "skos": str(SKOS),
    "schema": str(SCHEMA),
    "xsd": str(XSD),
    "id": "@id",
    "type": "@type",
    "label": {"@id": "rdfs:label", "@language": "en"},
    "exactMatch": {"@id": "skos:exactMatch", "@type": "@id"},
    "funding": {"@reverse": "emk:beneficiary"},
    "amount": {"@id": "emk:amount"},
    "value": {"@id": "schema:value", "@type": "xsd:decimal"},
    "currency": {"@id": "emk:currency", "@type": "@id"},
    "period": {"@id": "emk:period", "@type": "@id"},
    "sourceFund": {"@id": "emk:sourceFund", "@type": "@id"},
    "fundedAction": {"@id": "emk:fundedAction", "@type": "@id"},
    "status": {"@id": "emk:status", "@type": "@id"},
}


def partner_country_documents(graphs: Mapping[URIRef, Graph]) -> dict[str, object]:
    """The framed document: ``@context`` plus one node per partner country."""
    union = GraphUnion(graphs[iri] for iri in (GRAPH_DATA, GRAPH_LINKS, GRAPH_INFERRED))
    countries = set(union.subjects(RDF.type, EMK.PartnerCountry))
    commitments = set(union.subjects(RDF.type, EMK.FundingCommitment))
    funding: dict[Node, set[Node]] = defaultdict(set)
    for commitment, country in union.subject_objects(EMK.beneficiary):
        if country in countries and commitment in commitments:
            funding[country].add(commitment)
    funded = set().union(*funding.values())
    read = (RDFS.label, SKOS.exactMatch, EMK.amount, *_COMMITMENT_KEYS)
    facts = _Facts(union, countries | funded, read)
    amounts = {a for c in funded for a in facts.objects(c, EMK.amount)}
    facts.add(union, amounts, (SCHEMA.value, EMK.currency))
    documents = [_country(facts, c, funding[c]) for c in sorted(countries, key=str)]
    return {"@context": CONTEXT, "@graph": documents}


_COMMITMENT_KEYS = tuple(EMK[key] for key in ("period", "sourceFund", "fundedAction", "status"))


class _Facts:
    """The values the frame reads, gathered one predicate at a time.

    Why not ``graph.objects(node, p)`` per node: over a union of a hundred source files each
    lookup visits every file, and a million-triple release has thousands of commitments; one
    index scan per predicate, kept for the frame's nodes only, stays linear.
    """

    def __init__(self, graph: Graph, subjects: set[Node], predicates: Iterable[URIRef]) -> None:
        self.values: dict[tuple[Node, URIRef], set[Node]] = defaultdict(set)
        self.add(graph, subjects, predicates)

    def add(self, graph: Graph, subjects: set[Node], predicates: Iterable[URIRef]) -> None:
        for predicate in predicates:
            for subject, value in graph.subject_objects(predicate):
                if subject in subjects:
                    self.values[(subject, predicate)].add(value)

    def objects(self, node: Node, predicate: URIRef) -> list[Node]:
        """The values, sorted by their text (so the first one is a stable choice)."""
        return sorted(self.values.get((node, predicate), ()), key=str)


def _country(facts: _Facts, country: Node, funding: set[Node]) -> dict[str, object]:
    node: dict[str, object] = {"id": str(country), "type": "emk:PartnerCountry"}
    node.update(_labels(facts, country))
    node["exactMatch"] = [str(o) for o in facts.objects(country, SKOS.exactMatch)]
    node["funding"] = [_commitment(facts, c) for c in sorted(funding, key=str)]
    return node


def _labels(facts: _Facts, node: Node) -> dict[str, object]:
    labels = facts.objects(node, RDFS.label)
    return {"label": str(labels[0])} if len(labels) == 1 else {}


def _commitment(facts: _Facts, commitment: Node) -> dict[str, object]:
    node: dict[str, object] = {"id": str(commitment), "type": "emk:FundingCommitment"}
    node.update(_labels(facts, commitment))
    for key in _COMMITMENT_KEYS:
        values = [str(o) for o in facts.objects(commitment, key)]
        if values:
            node[key.fragment] = values if len(values) > 1 else values[0]
    amounts = [_amount(facts, a) for a in facts.objects(commitment, EMK.amount)]
    if amounts:
        node["amount"] = sorted(amounts, key=lambda a: (str(a["value"]), str(a["currency"])))
    return node


def _amount(facts: _Facts, amount: Node) -> dict[str, object]:
    """A blank-node amount embedded without an id, as the frame would."""
    values = [v for v in facts.objects(amount, SCHEMA.value) if isinstance(v, Literal)]
    currencies = facts.objects(amount, EMK.currency)
    return {
        "type": "schema:MonetaryAmount",
        "value": str(values[0]) if values else None,
        "currency": str(currencies[0]) if currencies else None,
    }
