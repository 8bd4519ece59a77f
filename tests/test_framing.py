"""The framed JSON-LD artefact: one document per partner country with its funding embedded.

Why: the artefact is a convenience view, so it must never say more (or other) than the release;
parsed back as JSON-LD, its triples must be triples of the release, and each country must carry
exactly the commitments of which it is a direct beneficiary.
"""

from __future__ import annotations

import json

from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.term import BNode

from kg_helpers import BuiltRelease
from migration_kg.build.release.framing import partner_country_documents
from migration_kg.core.namespaces import EMK


def framed(built_release: BuiltRelease) -> dict[str, object]:
    return json.loads((built_release.dist / "partner-countries.jsonld").read_text())  # type: ignore[no-any-return]


def release_union(built_release: BuiltRelease) -> Graph:
    return Graph().parse(built_release.dist / "emk.nt", format="nt")


def test_framed_triples_are_release_triples(built_release: BuiltRelease) -> None:
    parsed = Graph().parse(built_release.dist / "partner-countries.jsonld", format="json-ld")
    union = release_union(built_release)
    named = {t for t in parsed if not any(isinstance(x, BNode) for x in t)}
    assert named and named <= set(union)
    # amounts are blank nodes: compare their values per commitment
    for commitment, amount in parsed.subject_objects(EMK.amount):
        values = {
            str(v)
            for a in union.objects(commitment, EMK.amount)
            for v in union.objects(a, URIRef("https://schema.org/value"))
        }
        assert {
            str(v) for v in parsed.objects(amount, URIRef("https://schema.org/value"))
        } <= values


def test_every_partner_country_has_its_direct_funding(built_release: BuiltRelease) -> None:
    union = release_union(built_release)
    documents = framed(built_release)["@graph"]
    assert isinstance(documents, list)
    partners = {str(c) for c in union.subjects(RDF.type, EMK.PartnerCountry)}
    assert {d["id"] for d in documents} == partners
    for document in documents:
        country = URIRef(document["id"])
        expected = {
            str(s)
            for s in union.subjects(EMK.beneficiary, country)
            if (s, RDF.type, EMK.FundingCommitment) in union
        }
        assert {f["id"] for f in document["funding"]} == expected
    tunisia = next(d for d in documents if d["id"].endswith("/country/tunisia"))
    assert tunisia["funding"], "Tunisia's funding should be embedded"
    assert "http://publications.europa.eu/resource/authority/country/TUN" in tunisia["exactMatch"]


def test_the_frame_reads_views_and_merged_copies_alike(built_release: BuiltRelease) -> None:
    """The release hands the frame read-through views; a merged copy must frame the same."""
    graphs = built_release.result.content.graphs
    copies = {iri: Graph() + graph for iri, graph in graphs.items()}
    assert partner_country_documents(copies) == partner_country_documents(graphs)
