"""Security headers on every response, and every input that reaches a parser is bounded.

What a visitor sends beyond the query text (Accept, graph IRIs, search text, named-query
parameters, paths of dereferenced IRIs, the headers in all) ends in a clear 4xx, never a 500
or a dead worker, and every response carries ``nosniff``; HTML pages carry a policy that
allows only what they use (the browser tests check the pages run under it).
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

import httpx
import pytest
from starlette.datastructures import QueryParams

from migration_kg.core.errors import BadRequest
from migration_kg.core.queries import QueryParam
from migration_kg.core.settings import Settings
from migration_kg.web.errors import error_response
from migration_kg.web.negotiation import MAX_ACCEPT_CHARS
from migration_kg.web.pages import MAX_PARAMETER_CHARS, MAX_SEARCH_CHARS, bind_parameters
from migration_kg.web.security import DATA_POLICY, PAGE_POLICY, YASGUI_STYLES

ASK = {"query": "ASK { ?s ?p ?o }"}
HTML = {"Accept": "text/html"}


def _nosniff(response: httpx.Response) -> None:
    assert response.headers.get_list("x-content-type-options") == ["nosniff"], response.url


@pytest.mark.parametrize(
    ("method", "path", "params", "headers", "status"),
    [
        ("GET", "/sparql", ASK, {}, 200),
        ("GET", "/sparql", {}, {}, 200),  # service description
        ("GET", "/sparql", {"query": "SELECT"}, {}, 400),
        ("GET", "/sparql", {"query": "{" * 100}, {}, 400),
        ("GET", "/sparql", ASK, {"Accept": "image/png"}, 406),
        ("POST", "/sparql", ASK, {"Content-Type": "text/plain"}, 415),
        ("PUT", "/sparql", {}, {}, 405),
        ("OPTIONS", "/sparql", {}, {"Origin": "http://example.org"}, 204),
        ("GET", "/health", {}, {}, 200),
        ("GET", "/.well-known/void", {}, {}, 200),
        ("GET", "/no/such/page", {}, {}, 404),
        ("GET", "/static/site.css", {}, {}, 200),
    ],
)
def test_every_response_says_nosniff(
    client: httpx.Client,
    method: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
) -> None:
    response = client.request(method, path, params=params, headers=headers)
    assert response.status_code == status, response.text
    _nosniff(response)
    assert response.headers["content-security-policy"] == DATA_POLICY


def test_an_unexpected_error_also_says_nosniff() -> None:
    """500s are written outside the middleware (Starlette's outermost handler)."""
    response = error_response(RuntimeError("boom"))
    assert response.status_code == 500
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/", "/query", "/queries", "/search?q=tunisia", "/id/country/tunisia", "/id/nowhere"]
)
def test_html_pages_carry_the_page_policy(site: httpx.Client, path: str) -> None:
    response = site.get(path, headers=HTML)
    assert response.headers["content-type"].startswith("text/html")
    _nosniff(response)
    assert response.headers["content-security-policy"] == PAGE_POLICY
    assert "frame-ancestors 'none'" in PAGE_POLICY and "'unsafe-inline'" not in PAGE_POLICY
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"


def test_oversized_headers_are_refused_before_the_app(client: httpx.Client) -> None:
    limit = Settings().max_header_bytes  # the live servers run with the defaults
    big = {"X-Padding": "a" * limit}
    response = client.get("/sparql", params=ASK, headers=big)
    assert response.status_code == 431
    assert response.text == f"request line and headers are over {limit} bytes\n"
    _nosniff(response)
    assert response.headers["content-security-policy"] == DATA_POLICY
    assert client.get("/sparql", params=ASK, headers={"X-Padding": "a" * 8000}).status_code == 200


def test_accept_at_its_limit_and_one_past_it(client: httpx.Client, site: httpx.Client) -> None:
    def accept(length: int) -> dict[str, str]:
        head = "application/sparql-results+json,"
        return {"Accept": head + "a" * (length - len(head))}

    assert client.get("/sparql", params=ASK, headers=accept(MAX_ACCEPT_CHARS)).status_code == 200
    for server, path, params in ((client, "/sparql", ASK), (site, "/id/country/tunisia", {})):
        response = server.get(path, params=params, headers=accept(MAX_ACCEPT_CHARS + 1))
        assert response.status_code == 400
        assert response.text.startswith(f"Accept header longer than {MAX_ACCEPT_CHARS} char")


def test_a_406_echoes_at_most_200_characters_of_accept(client: httpx.Client) -> None:
    response = client.get("/sparql", params=ASK, headers={"Accept": "x/" + "y" * 3000})
    assert response.status_code == 406
    assert len(response.text) < 600


def test_graph_iris_that_do_not_parse_are_bad_requests(client: httpx.Client) -> None:
    for value in ("http://e/a b", "http://e/" + "<" * 500, "not an iri", "http://[::1"):
        for name in ("default-graph-uri", "named-graph-uri"):
            response = client.get("/sparql", params={**ASK, name: value})
            assert response.status_code == 400, (name, value)
            assert response.text.startswith(f"{name} is not an absolute IRI")


@pytest.mark.parametrize(
    "path",
    [
        "/id/a%20b",
        "/id/%3C%3E",
        "/id/a%00b",
        "/id/%ZZ",
        "/id/a%C3%28",
        "/id/x.ttl%00",
        "/ontology/%00",
        "/ontology/a%20b.ttl",
        "/id/%F0%9F%98%80",
    ],
)
def test_paths_that_form_no_known_iri_are_404s(site: httpx.Client, path: str) -> None:
    for headers in (HTML, {}):
        response = site.get(path, headers=headers)
        assert response.status_code == 404, (path, response.text[:200])
        _nosniff(response)


def test_a_percent_encoded_path_names_the_percent_encoded_iri(site: httpx.Client) -> None:
    response = site.get("/id/a%20b")
    assert response.text.startswith("no resource <https://w3id.org/eu-migration-kg/id/a%20b>")


def test_overlong_paths_are_404s_without_a_search(site: httpx.Client) -> None:
    response = site.get("/id/" + "a" * 3000, headers=HTML)
    assert response.status_code == 404
    assert "longer than 2048 characters" in response.text


def test_search_text_at_its_limit_and_one_past_it(site: httpx.Client) -> None:
    assert site.get("/search", params={"q": "a" * MAX_SEARCH_CHARS}).status_code == 200
    response = site.get("/search", params={"q": "a" * (MAX_SEARCH_CHARS + 1)})
    assert response.status_code == 400
    assert response.text.startswith(f"search text longer than {MAX_SEARCH_CHARS} characters")


def test_named_query_parameters_are_bounded_and_checked() -> None:
    params = [QueryParam("country", "a country IRI")]
    bound = bind_parameters(params, QueryParams({"country": "https://e.org/x"}))
    assert str(bound["country"]) == "<https://e.org/x>"
    assert str(bind_parameters(params, QueryParams({"country": "x" * 2048}))["country"])
    for value, message in (
        ("x" * (MAX_PARAMETER_CHARS + 1), "longer than 2048 characters"),
        ("a:%zz", "is not a valid IRI or literal"),
        ("http://[::1", "is not a valid IRI or literal"),
    ):
        with pytest.raises(BadRequest, match=message) as caught:
            bind_parameters(params, QueryParams({"country": value}))
        assert caught.value.parameter == "country"


def test_the_hashed_styles_are_the_ones_the_vendored_yasgui_writes() -> None:
    """A new YASGUI that writes other styles fails here, not silently in browsers."""
    script = files("migration_kg.web").joinpath("static/vendor/yasgui/yasgui.min.js")
    text = script.read_text(encoding="utf-8")
    grips = re.search(r"createStyle\(a,`( \.grip-resizable\{[^`]*)`\)", text)
    assert grips is not None
    assert (
        "createStyle(document.querySelector(`head`),`*{cursor:`+n.opt.dragCursor+`!important}`)"
        in text
    )
    assert "dragCursor:`col-resize`" in text
    for name, css in (("grips", grips.group(1)), ("dragging", "*{cursor:col-resize!important}")):
        digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
        assert YASGUI_STYLES[name] == f"sha256-{digest}"
        assert f"'sha256-{digest}'" in PAGE_POLICY
