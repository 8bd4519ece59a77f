"""Hypothesis fuzz of the HTTP API: random methods, parameters, headers and bodies never give 5xx.

Inputs mix valid pieces (real queries, media types, graph IRIs) with noise, so that the fuzzer
reaches the deep paths (evaluation, negotiation, serialisation) as well as the parsers.
"""

from __future__ import annotations

import string

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_support import EX, G

QUERIES = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 10",
    "ASK { ?s ?p ?o }",
    "CONSTRUCT WHERE { ?s ?p ?o }",
    f"DESCRIBE <{EX}country/italy>",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    f"SELECT * FROM <{G}data> WHERE {{ ?s ?p ?o }}",
    "SELECT (BNODE() AS ?b) (<< <a:s> <a:p> <a:o> >> AS ?t) WHERE {}",
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "INSERT DATA { <a:a> <a:b> <a:c> }",
    'SELECT ?x WHERE { BIND(STRDT("1", <bad iri>) AS ?x) }',
    'SELECT ?x WHERE { BIND("\\u0000" AS ?x) }',
    'CONSTRUCT { ?s <a:p> ?o } WHERE { VALUES (?s ?o) { (<a:x> 1) (<a:y> "é"@fr) } }',
]
MEDIA = [
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
    "*/*",
    "text/*",
    "application/json",
    "text/html",
    "image/png",
    "",
    ";",
    "*/*;q=x",
    "a/b;q=0.5,,",
]
# h11 (the client) refuses header values with CR/LF or surrounding whitespace
PRINTABLE = st.text(alphabet=string.printable.strip() + " ", max_size=60).map(str.strip)
NOISE = st.text(max_size=80)


def mutate(query: str, cut: int, insert: str) -> str:
    position = cut % (len(query) + 1)
    return query[:position] + insert + query[position:]


query_text = st.one_of(
    st.sampled_from(QUERIES),
    st.builds(mutate, st.sampled_from(QUERIES), st.integers(0, 200), NOISE),
    NOISE,
)
param_key = st.sampled_from(
    ["query", "query", "default-graph-uri", "named-graph-uri", "format", "update", "x", ""]
)
param_value = st.one_of(
    query_text, st.sampled_from([G + "data", G + "links", "not an iri", "json", "csv", "turtle"])
)
accept = st.one_of(
    st.none(),
    st.lists(
        st.builds(
            lambda m, q: m + (f";q={q}" if q else ""),
            st.sampled_from(MEDIA),
            st.sampled_from(["", "0", "0.5", "1", "2", "-1"]),
        ),
        max_size=4,
    ).map(lambda parts: ", ".join(parts).strip()),
    PRINTABLE,
)  # fmt: skip
content_type = st.one_of(
    st.none(),
    st.sampled_from(
        ["application/x-www-form-urlencoded", "application/sparql-query",
         "application/sparql-query; charset=latin-1", "application/sparql-update",
         "text/plain", "multipart/form-data", "application/json"]
    ),
    PRINTABLE,
)  # fmt: skip
body = st.one_of(
    st.none(),
    query_text.map(lambda q: q.encode("utf-8", "surrogatepass")),
    st.binary(max_size=200),
    st.lists(st.tuples(param_key, param_value), max_size=4).map(
        lambda pairs: httpx.QueryParams(pairs).__str__().encode("utf-8", "surrogatepass")
    ),
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "GET", "POST", "POST", "HEAD", "OPTIONS", "PUT"]),
    path=st.sampled_from(["/sparql", "/sparql", "/sparql", "/.well-known/void", "/health", "/x"]),
    params=st.lists(st.tuples(param_key, param_value), max_size=4),
    accept_header=accept,
    ctype=content_type,
    payload=body,
    etag=st.sampled_from([None, "*", 'W/"fixture-0123456789abcdef"', '"x"', ","]),
    forwarded=st.one_of(st.none(), PRINTABLE),
)
def test_no_5xx(
    client: httpx.Client,
    method: str,
    path: str,
    params: list[tuple[str, str]],
    accept_header: str | None,
    ctype: str | None,
    payload: bytes | None,
    etag: str | None,
    forwarded: str | None,
) -> None:
    headers = {}
    if accept_header is not None:
        headers["accept"] = accept_header
    if ctype is not None:
        headers["content-type"] = ctype
    if etag is not None:
        headers["if-none-match"] = etag
    if forwarded is not None:
        headers["forwarded"] = forwarded
        headers["x-forwarded-host"] = forwarded
    clean = [(k, v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")) for k, v in params]
    response = client.request(method, path, params=clean, headers=headers, content=payload)
    assert response.status_code < 500, (response.status_code, response.text)
    assert response.headers["access-control-allow-origin"] == "*"
    if response.status_code >= 400 and method != "HEAD":
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.strip()
