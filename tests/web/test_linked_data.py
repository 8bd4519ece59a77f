"""Dereferencing (Cool URIs) against the real release: conneg, extension URLs, 404s, ontology."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from web_support import start_server

from migration_kg.core.namespaces import EMK, ID, SCHEMA
from migration_kg.serve.engine import QueryEngine
from migration_kg.web.negotiation import prefers_html

TUNISIA = ID["country/tunisia"]
PACKAGE = ID["funding/migration-package-north-africa-2023"]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RDF_FORMATS = [
    ("text/turtle", "turtle", "ttl"),
    ("application/ld+json", "json-ld", "jsonld"),
    ("application/n-triples", "nt", "nt"),
    ("application/rdf+xml", "xml", "rdf"),
]


def _graph(response: httpx.Response, rdflib_format: str) -> Graph:
    graph = Graph()
    graph.parse(data=response.content, format=rdflib_format)
    return graph


@pytest.mark.parametrize(("media_type", "rdflib_format", "ext"), RDF_FORMATS)
def test_instance_iri_negotiates_rdf(
    site: httpx.Client, media_type: str, rdflib_format: str, ext: str
) -> None:
    response = site.get("/id/country/tunisia", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert "Accept" in response.headers["vary"].split(", ")
    assert response.headers["content-location"] == f"/id/country/tunisia.{ext}"
    graph = _graph(response, rdflib_format)
    assert (TUNISIA, RDF.type, EMK.Country) in graph
    assert (TUNISIA, RDFS.label, Literal("Tunisia", lang="en")) in graph


@pytest.mark.parametrize(("media_type", "rdflib_format", "ext"), RDF_FORMATS)
def test_extension_url_serves_its_format_whatever_accept_says(
    site: httpx.Client, media_type: str, rdflib_format: str, ext: str
) -> None:
    response = site.get(f"/id/country/tunisia.{ext}", headers={"Accept": BROWSER})
    assert response.headers["content-type"].startswith(media_type)
    assert (TUNISIA, RDF.type, EMK.Country) in _graph(response, rdflib_format)


def test_description_closes_blank_nodes_and_labels_neighbours(site: httpx.Client) -> None:
    graph = _graph(site.get("/id/funding/migration-package-north-africa-2023.ttl"), "turtle")
    amounts = list(graph.objects(PACKAGE, EMK.amount))
    assert len(amounts) == 1
    assert graph.value(amounts[0], SCHEMA.value).toPython() == 325_000_000
    assert graph.value(TUNISIA, RDFS.label) == Literal("Tunisia", lang="en")


def test_browsers_get_html_and_curl_gets_turtle(site: httpx.Client) -> None:
    page = site.get("/id/country/tunisia", headers={"Accept": BROWSER})
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-location"] == "/id/country/tunisia.html"
    assert "Accept" in page.headers["vary"].split(", ")
    assert "<h1>Tunisia</h1>" in page.text
    assert (
        site.get("/id/country/tunisia", headers={"Accept": "*/*"})
        .headers["content-type"]
        .startswith("text/turtle")
    )
    assert (
        site.get("/id/country/tunisia?format=html").headers["content-type"].startswith("text/html")
    )


def test_unknown_iri_is_404_with_a_message(site: httpx.Client) -> None:
    response = site.get("/id/country/atlantis", headers={"Accept": "text/turtle"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    assert "no resource <https://w3id.org/eu-migration-kg/id/country/atlantis>" in response.text
    page = site.get("/id/country/tunisiaa", headers={"Accept": BROWSER})
    assert page.status_code == 404
    assert "<code>https://w3id.org/eu-migration-kg/id/country/tunisiaa</code>" in page.text
    assert site.get("/ontology.docx").status_code == 404
    assert site.head("/id/country/tunisia").status_code == 200


def test_unacceptable_format_is_406(site: httpx.Client) -> None:
    response = site.get("/id/country/tunisia", headers={"Accept": "image/png"})
    assert response.status_code == 406


def test_ontology_document_negotiates(site: httpx.Client) -> None:
    graph = _graph(site.get("/ontology", headers={"Accept": "text/turtle"}), "turtle")
    assert (EMK.Country, RDF.type, OWL.Class) in graph
    page = site.get("/ontology", headers={"Accept": BROWSER})
    assert page.headers["content-location"] == "/ontology.html"
    assert 'id="FundingPackage"' in page.text
    assert "A funding commitment that the report breaks down" in page.text  # its definition
    jsonld = site.get("/ontology.jsonld")
    assert (EMK.partner, RDFS.range, EMK.Actor) in _graph(jsonld, "json-ld")


def test_ontology_module_iris_dereference(site: httpx.Client, real_engine: QueryEngine) -> None:
    """Every module IRI (…/ontology/events, …) answers: a page, and its own Turtle."""
    result = real_engine.query(
        "SELECT ?m WHERE { ?m a <http://www.w3.org/2002/07/owl#Ontology> "
        "FILTER(STRSTARTS(STR(?m), 'https://w3id.org/eu-migration-kg/ontology/')) }"
    )
    modules = sorted(str(m) for (m,) in result.rows)
    assert "https://w3id.org/eu-migration-kg/ontology/events" in modules
    for iri in modules:
        path = "/ontology/" + iri.rsplit("/", 1)[1]
        response = site.get(path, headers={"Accept": "text/turtle"})
        assert response.status_code == 200, path
        assert response.headers["content-location"] == path + ".ttl"
        graph = _graph(response, "turtle")
        assert (URIRef(iri), RDF.type, OWL.Ontology) in graph, path
        terms = set(graph.subjects(RDFS.isDefinedBy, URIRef(iri)))
        assert terms, f"{path} lists no terms"
        assert set(graph.objects(None, RDFS.isDefinedBy)) == {URIRef(iri)}, path
        page = site.get(path, headers={"Accept": BROWSER})
        assert page.status_code == 200 and page.headers["content-location"] == path + ".html"
        assert "<h1" in page.text
    events = _graph(site.get("/ontology/events.ttl"), "turtle")
    assert (EMK.Event, RDF.type, OWL.Class) in events
    assert (EMK.Country, RDF.type, OWL.Class) not in events  # a term of the geography module
    assert site.get("/ontology/no-such-module").status_code == 404
    assert site.get("/ontology/events.docx").status_code == 404


def test_every_kind_of_instance_dereferences(site: httpx.Client, real_engine: QueryEngine) -> None:
    """One instance per IRI kind (id/<kind>/…): HTML and Turtle both answer 200."""
    result = real_engine.query(
        "SELECT ?s WHERE { GRAPH <https://w3id.org/eu-migration-kg/graph/data> { ?s ?p ?o } "
        "FILTER(STRSTARTS(STR(?s), 'https://w3id.org/eu-migration-kg/id/')) }"
    )
    kinds: dict[str, str] = {}
    for (iri,) in result.rows:
        assert iri is not None
        kinds.setdefault(iri.split("/id/", 1)[1].split("/", 1)[0], iri)
    assert len(kinds) > 10
    for iri in kinds.values():
        path = "/id/" + iri.split("/id/", 1)[1]
        assert site.get(path, headers={"Accept": BROWSER}).status_code == 200, path
        assert site.get(path + ".ttl").status_code == 200, path


@pytest.mark.parametrize(
    ("accept", "formats", "expected"),
    [
        (BROWSER, [], True),
        ("*/*", [], False),
        (None, [], False),
        ("text/html;q=0.5, text/turtle", [], False),
        ("text/html, text/turtle", [], True),
        ("text/html;q=0, */*", [], False),
        ("text/turtle", ["html"], True),
        (BROWSER, ["ttl"], False),
    ],
)
def test_prefers_html(accept: str | None, formats: list[str], expected: bool) -> None:
    from migration_kg.web.site import DOCUMENT_FORMATS

    assert prefers_html(accept, formats, DOCUMENT_FORMATS) is expected


def test_label_in_description_is_an_iri_for_the_linked_resource(site: httpx.Client) -> None:
    graph = _graph(site.get("/id/country/tunisia.nt"), "nt")
    assert all(isinstance(s, URIRef) for s in graph.subjects(RDFS.label, None))


def test_pages_keep_no_module_level_state() -> None:
    from fastapi import FastAPI

    from migration_kg.web import pages, place, site, views
    from migration_kg.web.search import SearchIndex

    for module in (pages, place, site, views):
        held = [
            v for v in vars(module).values() if isinstance(v, FastAPI | QueryEngine | SearchIndex)
        ]
        assert not held, module.__name__


def test_links_follow_public_base_url_path(built_release: object, real_engine: QueryEngine) -> None:
    settings = replace(built_release.settings, public_base_url="https://example.org/kg/")  # type: ignore[attr-defined]
    server = start_server(settings, real_engine)
    try:
        page = httpx.get(
            server.url + "/id/country/tunisia", headers={"Accept": BROWSER}, trust_env=False
        )
    finally:
        server.stop()
    assert 'href="/kg/id/funding/migration-package-north-africa-2023"' in page.text
    assert page.headers["content-location"] == "/kg/id/country/tunisia.html"


def test_revalidation_with_the_build_etag(site: httpx.Client) -> None:
    first = site.get("/id/country/tunisia", headers={"Accept": BROWSER})
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = site.get("/id/country/tunisia", headers={"Accept": BROWSER, "If-None-Match": etag})
    assert again.status_code == 304
    assert site.get("/ontology.ttl", headers={"If-None-Match": etag}).status_code == 304
    assert site.get("/ontology.ttl", headers={"If-None-Match": 'W/"other"'}).status_code == 200
