"""Service description at /sparql (no query) and VoID at /.well-known/void."""

from __future__ import annotations

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, VOID
from web_support import ROW_CAP, TIMEOUT_S, G

from migration_kg.core.namespaces import RELEASE_GRAPHS
from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine
from migration_kg.web.service_description import Describer, endpoint_url

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
EMK = Namespace("https://w3id.org/eu-migration-kg/ontology#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")


def description(client: httpx.Client, **headers: str) -> Graph:
    response = client.get("/sparql", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/turtle")
    return Graph().parse(data=response.text, format="turtle")


def test_service_description_content(client: httpx.Client) -> None:
    graph = description(client)
    (service,) = graph.subjects(RDF.type, SD.Service)
    endpoint = graph.value(service, SD.endpoint)
    assert str(endpoint) == str(client.base_url) + "/sparql"
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    assert (service, SD.feature, SD.BasicFederatedQuery) not in graph
    formats = set(graph.objects(service, SD.resultFormat))
    assert {FORMATS.SPARQL_Results_JSON, FORMATS.SPARQL_Results_CSV, FORMATS.Turtle} <= formats
    assert graph.value(service, EMK.resultRowCap) == Literal(ROW_CAP)
    assert float(graph.value(service, EMK.queryTimeoutSeconds)) == TIMEOUT_S
    dataset = graph.value(service, SD.defaultDataset)
    names = {graph.value(n, SD.name) for n in graph.objects(dataset, SD.namedGraph)}
    assert names == {URIRef(str(g)) for g in RELEASE_GRAPHS}
    default = graph.value(dataset, SD.defaultGraph)
    assert graph.value(default, VOID.triples) == Literal(62)
    assert (service, URIRef("http://www.w3.org/2000/01/rdf-schema#seeAlso"), None) in graph


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"x-forwarded-proto": "https", "x-forwarded-host": "kg.example.eu"},
            "https://kg.example.eu/sparql",
        ),
        (
            {"forwarded": 'for=1.2.3.4;proto=https;host="kg.example.eu:8443"'},
            "https://kg.example.eu:8443/sparql",
        ),
        ({"x-forwarded-host": "evil.example/<script>"}, None),
    ],
)
def test_endpoint_honours_proxy_headers(
    client: httpx.Client, headers: dict[str, str], expected: str | None
) -> None:
    graph = description(client, **headers)
    endpoint = str(next(graph.objects(None, SD.endpoint)))
    assert endpoint == (expected or str(client.base_url) + "/sparql")


@pytest.mark.parametrize(
    "accept", ["application/ld+json", "application/n-triples", "application/rdf+xml"]
)
def test_service_description_by_conneg(client: httpx.Client, accept: str) -> None:
    response = client.get("/sparql", headers={"accept": accept})
    assert response.headers["content-type"] == accept
    fmt = {"application/ld+json": "json-ld", "application/n-triples": "nt"}.get(accept, "xml")
    assert len(Graph().parse(data=response.text, format=fmt)) > 20


def test_service_description_406_and_head(client: httpx.Client) -> None:
    refused = client.get("/sparql", headers={"accept": "application/sparql-results+json"})
    assert refused.status_code == 406 and "text/turtle" in refused.text
    head = client.head("/sparql")
    assert head.status_code == 200 and head.content == b""


def test_void_serves_the_metadata_graph(client: httpx.Client) -> None:
    response = client.get("/.well-known/void", headers={"accept": "application/n-triples"})
    graph = Graph().parse(data=response.text, format="nt")
    assert (URIRef("https://w3id.org/eu-migration-kg/id/dataset"), RDF.type, VOID.Dataset) in graph
    assert response.headers["etag"]


@pytest.mark.parametrize("metadata", ["none", "provenance only"])
def test_void_without_dataset_description_is_built_from_counts(
    engine: QueryEngine, settings: Settings, metadata: str
) -> None:
    describer = Describer(engine, settings)
    describer.metadata.clear()
    release = ox.NamedNode("https://w3id.org/eu-migration-kg/id/release/0.1.0")
    if metadata != "none":
        license_ = ox.NamedNode("http://purl.org/dc/terms/license")
        describer.metadata.append(ox.Triple(release, license_, ox.NamedNode("urn:cc-by")))
    graph = Graph()
    for triple in describer.void("http://127.0.0.1:1/sparql"):
        graph.parse(data=str(triple) + " .", format="nt")
    dataset = URIRef(settings.base_iri + "dataset")
    assert graph.value(dataset, VOID.triples) == Literal(62)
    assert graph.value(dataset, VOID.sparqlEndpoint) == URIRef("http://127.0.0.1:1/sparql")
    assert len(list(graph.objects(dataset, VOID.subset))) == 5
    assert graph.value(URIRef(G + "data"), VOID.distinctSubjects) == Literal(8)
    assert (len(list(graph.subjects(None, URIRef("urn:cc-by")))) == 1) == (metadata != "none")


def test_public_base_url_pins_the_endpoint(settings: Settings) -> None:
    from dataclasses import replace

    from starlette.requests import Request

    pinned = replace(settings, public_base_url="https://kg.example.eu/base/")
    scope = {"type": "http", "method": "GET", "path": "/sparql", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1:1"), (b"x-forwarded-host", b"other.example")],
             "scheme": "http", "server": ("127.0.0.1", 1)}  # fmt: skip
    assert endpoint_url(Request(scope), pinned) == "https://kg.example.eu/base/sparql"
