"""Framed JSON-LD: one self-contained document per partner country, its funding embedded.

Part of the release step. Why: the flat ``emk.jsonld`` is a graph dump; a web developer who wants
"Tunisia and the money committed to it" would have to join nodes by hand. This artefact does the
join once, the way a JSON-LD frame with ``@reverse`` and ``@embed`` would (pyld is not a
dependency, so the frame is applied in code), and stays valid JSON-LD: parsed back, every triple
it states is a triple of the release. Funding is embedded when the country is a direct
``emk:beneficiary`` of a ``emk:FundingCommitment`` (commitments to a whole region are not
repeated under each of its countries). Deterministic: nodes and values are sorted.
"""

from __future__ import annotations

from collections.abc import Mapping

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from migration_kg.namespaces import EMK, GRAPH_DATA, GRAPH_INFERRED, GRAPH_LINKS, SCHEMA

FRAMED_ARTEFACT = "partner-countries.jsonld"

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
    union = Graph(bind_namespaces="none")
    for iri in (GRAPH_DATA, GRAPH_LINKS, GRAPH_INFERRED):
        union += graphs[iri]
    countries = sorted(union.subjects(RDF.type, EMK.PartnerCountry), key=str)
    return {"@context": CONTEXT, "@graph": [_country(union, c) for c in countries]}


def _country(graph: Graph, country: Node) -> dict[str, object]:
    node: dict[str, object] = {"id": str(country), "type": "emk:PartnerCountry"}
    node.update(_labels(graph, country))
    node["exactMatch"] = sorted(str(o) for o in graph.objects(country, SKOS.exactMatch))
    commitments = sorted(
        (s for s in graph.subjects(EMK.beneficiary, country) if _is_commitment(graph, s)),
        key=str,
    )
    node["funding"] = [_commitment(graph, c) for c in commitments]
    return node


def _is_commitment(graph: Graph, node: Node) -> bool:
    return (node, RDF.type, EMK.FundingCommitment) in graph


def _labels(graph: Graph, node: Node) -> dict[str, object]:
    labels = sorted(str(o) for o in graph.objects(node, RDFS.label))
    return {"label": labels[0]} if len(labels) == 1 else {}


def _commitment(graph: Graph, commitment: Node) -> dict[str, object]:
    node: dict[str, object] = {"id": str(commitment), "type": "emk:FundingCommitment"}
    node.update(_labels(graph, commitment))
    for key in ("period", "sourceFund", "fundedAction", "status"):
        values = sorted(str(o) for o in graph.objects(commitment, EMK[key]))
        if values:
            node[key] = values if len(values) > 1 else values[0]
    amounts = [_amount(graph, a) for a in graph.objects(commitment, EMK.amount)]
    if amounts:
        node["amount"] = sorted(amounts, key=lambda a: (str(a["value"]), str(a["currency"])))
    return node


def _amount(graph: Graph, amount: Node) -> dict[str, object]:
    """A blank-node amount embedded without an id, as the frame would."""
    value = graph.value(amount, SCHEMA.value)
    currency = graph.value(amount, EMK.currency)
    return {
        "type": "schema:MonetaryAmount",
        "value": str(value) if isinstance(value, Literal) else None,
        "currency": str(currency) if currency is not None else None,
    }
