"""Federated queries (queries/federated/*.rq) against a local mirror of an EU endpoint.

Why a mirror: the examples federate into the Publications Office's SPARQL endpoint, which CI
cannot reach. A second instance of the project's own endpoint, on 127.0.0.1, serves the offline
country authority table (../shared/vocab/country.ttl); the test swaps the endpoint IRI of the
query for the mirror's, and allows SERVICE only to that mirror, only in this test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, URIRef
from web_support import G, LiveServer, start_server

from kg_helpers import REPO, vocab_path
from migration_kg.core.errors import BadRequest
from migration_kg.core.queries import parse_query_file
from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine

QUERY = REPO / "queries" / "federated" / "partner-country-labels-fr.rq"
EU_ENDPOINT = "http://publications.europa.eu/webapi/rdf/sparql"
COUNTRY_TABLE = "country.ttl"  # under ../shared/vocab: the test fails without it


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """SERVICE calls go over HTTP: traffic must stay on 127.0.0.1."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")


def _mirror_release(dist: Path) -> Path:
    """A release directory whose only graph is the country authority table."""
    triples = Graph().parse(vocab_path(COUNTRY_TABLE)).serialize(format="nt")
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "emk.trig").write_text(f"<{G}data> {{\n{triples}}}\n", encoding="utf-8")
    manifest = {"build_hash": "country-table-mirror", "files": ["emk.trig"]}
    (dist / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return dist


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(dist_dir=_mirror_release(tmp_path_factory.mktemp("mirror")))
    server = start_server(settings, QueryEngine.from_release(settings))
    yield server
    server.stop()


def test_french_labels_of_partner_countries(built_release: Any, mirror: LiveServer) -> None:
    query = parse_query_file(QUERY)
    assert EU_ENDPOINT in query.text
    text = query.text.replace(EU_ENDPOINT, mirror.sparql)
    settings = replace(built_release.settings, service_allowlist=(mirror.sparql,))
    rows = QueryEngine.from_release(settings).query(text).rows
    labels = {row[1]: row[2] for row in rows}
    partners = Graph().parse(REPO / "data" / "shared" / "countries.ttl")
    expected = {
        str(label)
        for country in partners.subjects(
            URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            URIRef("https://w3id.org/eu-migration-kg/ontology#PartnerCountry"),
        )
        for label in partners.objects(country, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))
    }
    assert set(labels) == expected
    assert labels["Tunisia"] == "Tunisie"
    assert labels["Morocco"] == "Maroc"


def test_service_stays_refused_without_the_allowlist(built_release: Any) -> None:
    text = parse_query_file(QUERY).text
    with pytest.raises(BadRequest, match="SERVICE is not allowed"):
        QueryEngine.from_release(built_release.settings).query(text)
