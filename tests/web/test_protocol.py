"""SPARQL 1.1 Protocol over a live server: operations, dataset parameters, malformed requests."""

from __future__ import annotations

import json

import httpx
import pytest
from web_support import COUNTRIES, MAX_BYTES, G, LiveServer

LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
LABELS = f"SELECT ?l WHERE {{ ?s {LABEL} ?l }} ORDER BY ?l"
FORM = {"content-type": "application/x-www-form-urlencoded"}
DIRECT = {"content-type": "application/sparql-query"}


def labels(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [b["l"]["value"] for b in response.json()["results"]["bindings"]]


def test_get_form_post_and_direct_post_agree(client: httpx.Client) -> None:
    by_get = labels(client.get("/sparql", params={"query": LABELS}))
    by_form = labels(client.post("/sparql", data={"query": LABELS}))
    by_direct = labels(client.post("/sparql", content=LABELS.encode(), headers=DIRECT))
    assert by_get == by_form == by_direct
    assert "Italy" in by_get and len(by_get) == len(COUNTRIES) + 3


def test_direct_post_with_charset_and_unicode(client: httpx.Client) -> None:
    query = 'SELECT ?x WHERE { BIND("Ελλάδα" AS ?x) }'
    headers = {"content-type": "application/sparql-query; charset=UTF-8"}
    response = client.post("/sparql", content=query.encode(), headers=headers)
    assert response.json()["results"]["bindings"][0]["x"]["value"] == "Ελλάδα"


@pytest.mark.parametrize("method", ["get", "form", "direct"])
def test_dataset_parameters_are_honoured(client: httpx.Client, method: str) -> None:
    params = [("default-graph-uri", G + "ontology")]
    if method == "get":
        response = client.get("/sparql", params=[*params, ("query", LABELS)])
    elif method == "form":
        response = client.post(
            "/sparql", data={"query": LABELS, "default-graph-uri": G + "ontology"}
        )
    else:
        response = client.post("/sparql", params=params, content=LABELS, headers=DIRECT)
    assert labels(response) == ["Country", "population"]


def test_named_graph_uri_limits_graph_clause(client: httpx.Client) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    params = [("query", query), ("named-graph-uri", G + "links"), ("named-graph-uri", G + "data")]
    bindings = client.get("/sparql", params=params).json()["results"]["bindings"]
    assert [b["g"]["value"] for b in bindings] == [G + "data", G + "links"]


@pytest.mark.parametrize(
    ("request_kwargs", "status", "needle"),
    [
        ({"method": "POST", "data": {"default-graph-uri": G + "data"}}, 400, "missing"),
        ({"method": "GET", "params": {"default-graph-uri": G + "data"}}, 400, "missing"),
        (
            {"method": "GET", "params": [("query", "ASK {}"), ("query", "ASK {}")]},
            400,
            "more than once",
        ),
        ({"method": "GET", "params": {"query": "   "}}, 400, "empty"),
        (
            {
                "method": "GET",
                "params": [("query", "ASK {}"), ("format", "json"), ("format", "csv")],
            },
            400,
            "conflicting",
        ),
        (
            {"method": "POST", "content": b"ASK {}", "headers": {"content-type": "text/plain"}},
            415,
            "Content-Type",
        ),
        ({"method": "POST", "content": b"ASK {}"}, 415, "Content-Type"),
        ({"method": "POST", "content": b"query=%FF%FE", "headers": FORM}, 400, "decode"),
        ({"method": "POST", "content": b"ASK { \xff }", "headers": DIRECT}, 400, "UTF-8"),
        ({"method": "GET", "params": {"query": "SELECT * WHERE { ?s ?p }"}}, 400, "line 1, column"),
        (
            {"method": "GET", "params": {"query": "INSERT DATA { <a:a> <a:b> <a:c> }"}},
            400,
            "read-only",
        ),
        ({"method": "POST", "data": {"update": "CLEAR ALL"}}, 400, "read-only"),
        (
            {
                "method": "POST",
                "content": b"CLEAR ALL",
                "headers": {"content-type": "application/sparql-update"},
            },
            400,
            "read-only",
        ),
        (
            {
                "method": "POST",
                "content": b"ASK {}",
                "headers": DIRECT,
                "params": {"query": "ASK {}"},
            },
            400,
            "both",
        ),
        (
            {"method": "GET", "params": {"query": "SELECT * { SERVICE <http://127.0.0.1:9/> {} }"}},
            400,
            "SERVICE",
        ),
        (
            {"method": "GET", "params": {"query": "ASK {}", "default-graph-uri": "not an iri"}},
            400,
            "default-graph-uri",
        ),
        ({"method": "POST", "content": b"x" * (MAX_BYTES + 1), "headers": DIRECT}, 413, "limit"),
        ({"method": "GET", "params": {"query": "ASK {} #" + "x" * MAX_BYTES}}, 413, "limit"),
        ({"method": "GET", "params": {"query": "ASK {}", "format": "png"}}, 406, "offered"),
        (
            {"method": "GET", "params": {"query": "ASK {}"}, "headers": {"accept": "image/png"}},
            406,
            "text/csv",
        ),
        ({"method": "PUT", "content": b"ASK {}", "headers": DIRECT}, 405, ""),
        ({"method": "DELETE"}, 405, ""),
    ],
)
def test_malformed_requests_get_4xx_with_message(
    client: httpx.Client, request_kwargs: dict[str, object], status: int, needle: str
) -> None:
    kwargs = dict(request_kwargs)
    method = str(kwargs.pop("method"))
    response = client.request(method, "/sparql", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["access-control-allow-origin"] == "*"
    assert needle in response.text
    assert response.text.strip()


def test_chunked_body_over_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> object:
        for _ in range(MAX_BYTES // 1000 + 2):
            yield b"#" * 1000

    response = client.post("/sparql", content=chunks(), headers=DIRECT)  # type: ignore[arg-type]
    assert response.status_code == 413


def test_timeout_is_503_with_message(client: httpx.Client) -> None:
    # 3 x 62^4 solutions: about 3x the 1.5 s timeout on a laptop (the thread finishes alone)
    slow = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l VALUES ?x {1 2 3} }"
    response = client.get("/sparql", params={"query": slow})
    assert response.status_code == 503
    assert "timeout" in response.text
    assert response.headers["access-control-allow-origin"] == "*"


def test_head_has_headers_and_no_body(client: httpx.Client) -> None:
    get = client.get("/sparql", params={"query": LABELS})
    head = client.head("/sparql", params={"query": LABELS})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["etag"] == get.headers["etag"]


def test_options_preflight(client: httpx.Client) -> None:
    headers = {
        "origin": "https://example.org",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }
    response = client.options("/sparql", headers=headers)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "content-type"


def test_unknown_path_is_404_with_cors(client: httpx.Client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "*"


def test_health(client: httpx.Client) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["quads"] == 62


def test_access_log_is_json_lines(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="migration_kg.web.access"):
        client.get("/health")
        client.get("/sparql", params={"query": "ASK {"})
    entries = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("access")]
    assert [(e["path"], e["status"]) for e in entries[-2:]] == [("/health", 200), ("/sparql", 400)]
    assert all(isinstance(e["ms"], float) for e in entries)


def test_relative_iris_resolve_against_the_endpoint(live: LiveServer, client: httpx.Client) -> None:
    """The W3C protocol test query: relative IRIs are resolved, as Oxigraph and Fuseki do."""
    query = "CONSTRUCT { <s> <p> 1 } WHERE {}"
    response = client.get(
        "/sparql", params={"query": query}, headers={"accept": "application/n-triples"}
    )
    assert response.status_code == 200
    assert response.text.startswith(f"<{live.url}/s> <{live.url}/p> ")
    based = "BASE <http://example.org/x/> SELECT ?o WHERE { VALUES ?o { <y> } }"
    answer = client.get("/sparql", params={"query": based}).json()
    assert answer["results"]["bindings"][0]["o"]["value"] == "http://example.org/x/y"


EMBEDDED_LOSES_DERIVED_TYPES = (
    "pyoxigraph 0.5 stores and evaluates xsd:integer's derived types as xsd:integer "
    "(its term encoding keeps the value, not the datatype); fixed only upstream"
)


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "text/tab-separated-values"])
def test_derived_datatypes_are_kept_exactly(
    client: httpx.Client, accept: str, backend: str, request: pytest.FixtureRequest
) -> None:
    """Virtuoso keeps them; the embedded engine is a strict xfail that turns red when fixed."""
    if backend == "embedded":
        request.applymarker(pytest.mark.xfail(strict=True, reason=EMBEDDED_LOSES_DERIVED_TYPES))
    query = 'SELECT ?o { VALUES ?o { "-3"^^<http://www.w3.org/2001/XMLSchema#negativeInteger> } }'
    response = client.get("/sparql", params={"query": query}, headers={"accept": accept})
    assert "XMLSchema#negativeInteger" in response.text
