"""The optional result cache: keys, bounds, what is never cached, and its use over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from web_support import BUILD_HASH, ROW_CAP, LiveServer, start_server

from migration_kg.core.errors import NotAcceptable
from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine
from migration_kg.web.cache import ResultCache

SELECT = "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 3"
JSON = "application/sparql-results+json"


def test_entries_are_found_by_negotiated_format() -> None:
    cache = ResultCache("build-1")
    key = cache.key(SELECT, (), ())
    cache.put(key, tuple(ResultFormat), ResultFormat.JSON, b"{}", False)
    assert cache.get(key, JSON, ()) is not None
    assert cache.get(key, None, ("json",)) is not None  # the same format, asked differently
    assert cache.get(key, "text/csv", ()) is None  # another format is another body
    with pytest.raises(NotAcceptable):
        cache.get(key, "text/turtle", ())  # exactly the error an uncached request gets
    assert cache.stats()["hits"] == 2


def test_keys_carry_build_query_and_dataset() -> None:
    cache = ResultCache("build-1")
    cache.put(cache.key(SELECT, (), ()), tuple(ResultFormat), ResultFormat.JSON, b"{}", False)
    assert cache.get(cache.key(SELECT, ("urn:g",), ()), JSON, ()) is None
    assert cache.get(cache.key(SELECT + " ", (), ()), JSON, ()) is None
    assert cache.get(ResultCache("build-2").key(SELECT, (), ()), JSON, ()) is None


def test_memory_is_bounded_least_recently_used_first() -> None:
    cache = ResultCache("b", max_bytes=16 * 100)
    keys = [cache.key(f"SELECT {i}", (), ()) for i in range(40)]
    for key in keys:
        cache.put(key, tuple(ResultFormat), ResultFormat.JSON, b"x" * 100, False)
        cache.get(keys[0], JSON, ())  # keeps the first one recently used
    assert cache.stats()["bytes"] <= 16 * 100
    assert cache.get(keys[0], JSON, ()) is not None
    assert cache.get(keys[1], JSON, ()) is None
    cache.put(cache.key("big", (), ()), tuple(ResultFormat), ResultFormat.JSON, b"y" * 101, False)
    assert cache.get(cache.key("big", (), ()), JSON, ()) is None  # over a sixteenth: not kept
    cache.clear()
    assert cache.stats()["entries"] == cache.stats()["bytes"] == 0


@pytest.mark.parametrize(
    "query",
    [
        "SELECT (RAND() AS ?r) {}",
        "SELECT (now () AS ?t) {}",
        "SELECT (STRUUID() AS ?u) {}",
        "CONSTRUCT { ?s <urn:p> ?b } WHERE { ?s ?p ?o BIND(BNODE() AS ?b) }",
        "SELECT * { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    ],
)
def test_answers_that_may_change_are_not_cached(query: str) -> None:
    cache = ResultCache("b")
    key = cache.key(query, (), ())
    cache.put(key, tuple(RdfFormat), RdfFormat.TURTLE, b"x", False)
    assert cache.get(key, "text/turtle", ()) is None


@pytest.fixture(scope="module")
def cached_client(settings: Settings, engine: QueryEngine) -> Iterator[httpx.Client]:
    live: LiveServer = start_server(settings, engine, ResultCache(engine.build_hash))
    with httpx.Client(base_url=live.url, timeout=10, trust_env=False) as http:
        yield http
    live.stop()


def test_repeated_queries_are_served_from_the_cache(cached_client: httpx.Client) -> None:
    first = cached_client.get("/sparql", params={"query": SELECT}, headers={"accept": JSON})
    again = cached_client.get("/sparql", params={"query": SELECT}, headers={"accept": JSON})
    assert first.headers["x-result-cache"] == "miss"
    assert again.headers["x-result-cache"] == "hit"
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"] and BUILD_HASH in again.headers["etag"]
    assert again.headers["access-control-allow-origin"] == "*"
    xml = cached_client.get("/sparql", params={"query": SELECT, "format": "xml"})
    assert xml.headers["x-result-cache"] == "miss"
    assert xml.headers["content-type"] == ResultFormat.XML.media_type
    stats = cached_client.get("/health").json()["result_cache"]
    assert stats["hits"] >= 1 and stats["entries"] >= 1


def test_truncation_is_remembered(cached_client: httpx.Client) -> None:
    query = "SELECT * WHERE { ?s ?p ?o }"
    for _ in range(2):
        response = cached_client.get("/sparql", params={"query": query})
        assert response.headers["x-result-truncated"] == "true"
        assert len(response.json()["results"]["bindings"]) == ROW_CAP
    assert response.headers["x-result-cache"] == "hit"


def test_errors_are_not_cached(cached_client: httpx.Client) -> None:
    for _ in range(2):
        response = cached_client.get("/sparql", params={"query": "SELECT ?x WHERE {"})
        assert response.status_code == 400
        assert "x-result-cache" not in response.headers
