"""Real clients against the live server: SPARQLWrapper, rdflib's SPARQLStore, pyoxigraph SERVICE."""

from __future__ import annotations

from dataclasses import replace

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from web_support import COUNTRIES, EX, LiveServer

from migration_kg.core.errors import BadRequest
from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine

EMK = "https://w3id.org/eu-migration-kg/ontology#"
RANKS = f"SELECT ?c ?rank WHERE {{ ?c <{EMK}rank> ?rank }} ORDER BY ?rank"


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib-based clients honour *_proxy variables; traffic must stay on 127.0.0.1."""
    for name in (
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")


def wrapper(live: LiveServer, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    client = SPARQLWrapper(live.sparql)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setMethod(method)
    return client


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_and_ask(live: LiveServer, method: str) -> None:
    result = wrapper(live, RANKS, JSON, method).queryAndConvert()
    assert isinstance(result, dict)
    ranks = [int(b["rank"]["value"]) for b in result["results"]["bindings"]]
    assert ranks == list(range(1, len(COUNTRIES) + 1))
    ask = wrapper(live, f"ASK {{ <{EX}country/malta> ?p ?o }}", JSON, method).queryAndConvert()
    assert isinstance(ask, dict) and ask["boolean"] is True


@pytest.mark.parametrize("fmt", [XML, CSV, TSV])
def test_sparqlwrapper_other_result_formats(live: LiveServer, fmt: str) -> None:
    raw = wrapper(live, RANKS, fmt).query().response.read()
    assert b"italy" in raw


@pytest.mark.parametrize("fmt", [XML, RDFXML, TURTLE, JSONLD])
def test_sparqlwrapper_construct_and_describe(live: LiveServer, fmt: str) -> None:
    construct = f"CONSTRUCT {{ ?c <{EMK}rank> ?r }} WHERE {{ ?c <{EMK}rank> ?r }}"
    result = wrapper(live, construct, fmt).query()
    graph = result.convert()
    if not isinstance(graph, Graph):  # Turtle / JSON-LD come back as bytes
        graph = Graph().parse(data=graph, format="turtle" if fmt == TURTLE else "json-ld")
    assert len(graph) == len(COUNTRIES)
    assert (URIRef(EX + "country/italy"), URIRef(EMK + "rank"), Literal(1)) in graph
    described = wrapper(live, f"DESCRIBE <{EX}country/greece>", RDFXML).queryAndConvert()
    assert isinstance(described, Graph)
    assert set(described.subjects()) == {URIRef(EX + "country/greece")}


def test_rdflib_sparqlstore_select_ask_construct_describe(live: LiveServer) -> None:
    store = SPARQLStore(query_endpoint=live.sparql)  # its default: SPARQL XML and RDF/XML
    graph = Graph(store=store)
    rows = list(graph.query(RANKS))
    assert [int(r[1]) for r in rows] == list(range(1, len(COUNTRIES) + 1))  # type: ignore[index]
    assert graph.query(f"ASK {{ <{EX}country/cyprus> ?p ?o }}").askAnswer is True
    built = graph.query(f"CONSTRUCT {{ ?c a <{EMK}Country> }} WHERE {{ ?c a <{EMK}Country> }}")
    assert built.graph is not None and len(built.graph) == len(COUNTRIES)
    described = graph.query(f"DESCRIBE <{EX}country/tunisia>")
    assert described.graph is not None
    assert (URIRef(EX + "country/tunisia"), URIRef(EMK + "rank"), Literal(6)) in described.graph


def test_pyoxigraph_federates_into_the_endpoint(live: LiveServer) -> None:
    local = ox.Store()
    local.add(
        ox.Quad(
            ox.NamedNode(EX + "country/italy"),
            ox.NamedNode("urn:local#capital"),
            ox.Literal("Rome"),
        )
    )
    query = (
        "SELECT ?capital ?rank WHERE { ?c <urn:local#capital> ?capital "
        f"SERVICE <{live.sparql}> {{ ?c <{EMK}rank> ?rank }} }}"
    )
    rows = [(s["capital"].value, s["rank"].value) for s in local.query(query)]
    assert rows == [("Rome", "1")]


def test_engine_service_only_to_allowlisted_endpoint(live: LiveServer, settings: Settings) -> None:
    federating = QueryEngine.from_release(replace(settings, service_allowlist=(live.sparql,)))
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ SERVICE <{live.sparql}> {{ ?c <{EMK}rank> ?r }} }}"
    assert federating.query(query).rows == [(str(len(COUNTRIES)),)]
    with pytest.raises(BadRequest, match="SERVICE is not allowed"):
        federating.query(query.replace(live.sparql, live.url + "/other"))
