"""Response formats, negotiation over HTTP, caching headers, gzip and the row-cap signal."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic
from web_support import BUILD_HASH, COUNTRIES, EX, ROW_CAP

from migration_kg.core.formats import RdfFormat, ResultFormat

EMK = "https://w3id.org/eu-migration-kg/ontology#"
SELECT = (
    f"SELECT ?c ?rank ?share ?note WHERE {{ ?c <{EMK}rank> ?rank ; <{EMK}share> ?share ;"
    f" <{EMK}note> ?note }} ORDER BY ?rank"
)
PATTERN = f"?c <{EMK}rank> ?r ; <{EMK}note> ?n"
CONSTRUCT = f"CONSTRUCT {{ {PATTERN} }} WHERE {{ {PATTERN} }}"
OX_RESULTS = {
    ResultFormat.JSON: ox.QueryResultsFormat.JSON,
    ResultFormat.XML: ox.QueryResultsFormat.XML,
    ResultFormat.CSV: ox.QueryResultsFormat.CSV,
    ResultFormat.TSV: ox.QueryResultsFormat.TSV,
}


@pytest.mark.parametrize("fmt", [ResultFormat.JSON, ResultFormat.XML, ResultFormat.TSV])
def test_select_in_every_result_format_parses_to_the_same_rows(
    client: httpx.Client, fmt: ResultFormat
) -> None:
    response = client.get("/sparql", params={"query": SELECT}, headers={"accept": fmt.media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == fmt.media_type
    parsed = ox.parse_query_results(response.content, OX_RESULTS[fmt])
    assert isinstance(parsed, ox.QuerySolutions)
    rows = [tuple(sol) for sol in parsed]
    assert len(rows) == len(COUNTRIES)
    first = rows[0]
    assert first[0] == ox.NamedNode(EX + "country/italy")
    assert first[3].value == 'line one\nline two, with "quotes"\ttab'
    assert first[1] == ox.Literal(
        "1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    )


def test_csv_is_rfc4180(client: httpx.Client) -> None:
    """CSV is lossy (no datatypes), so pyoxigraph will not parse it; the csv module does."""
    text = client.get("/sparql", params={"query": SELECT, "format": "csv"}).text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["c", "rank", "share", "note"]
    assert rows[1][3] == 'line one\nline two, with "quotes"\ttab'


@pytest.mark.parametrize("fmt", list(ResultFormat))
def test_ask_in_every_result_format(client: httpx.Client, fmt: ResultFormat) -> None:
    response = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }", "format": fmt.short_name})
    assert response.status_code == 200
    if fmt in (ResultFormat.JSON, ResultFormat.XML):
        assert bool(ox.parse_query_results(response.content, OX_RESULTS[fmt])) is True
    else:
        assert response.text.strip() == "true"


@pytest.mark.parametrize("fmt", list(RdfFormat))
def test_construct_in_every_rdf_format_is_isomorphic(client: httpx.Client, fmt: RdfFormat) -> None:
    reference = client.get("/sparql", params={"query": CONSTRUCT, "format": "ntriples"})
    expected = Graph().parse(data=reference.text, format="nt")
    assert len(expected) == 2 * len(COUNTRIES)
    response = client.get(
        "/sparql", params={"query": CONSTRUCT}, headers={"accept": fmt.media_type}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == fmt.media_type
    if fmt.supports_datasets and fmt is not RdfFormat.JSONLD:
        got = Graph()
        for s, p, o, _ in Dataset().parse(data=response.text, format=fmt.rdflib_name).quads():
            got.add((s, p, o))
    else:
        got = Graph().parse(data=response.text, format=fmt.rdflib_name)
    assert isomorphic(got, expected)


def test_describe_returns_the_resource(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": f"DESCRIBE <{EX}country/spain>"})
    graph = Graph().parse(data=response.text, format="turtle")
    assert {str(s) for s in graph.subjects()} == {EX + "country/spain"}
    assert len(graph) >= 5


def test_select_refuses_rdf_format_with_406(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": SELECT}, headers={"accept": "text/turtle"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text


def test_format_parameter_accepts_media_types_and_beats_accept(client: httpx.Client) -> None:
    response = client.get(
        "/sparql",
        params={"query": SELECT, "format": "text/tab-separated-values"},
        headers={"accept": "application/sparql-results+json"},
    )
    assert response.headers["content-type"].startswith("text/tab-separated-values")


def test_combined_accept_headers_are_merged(client: httpx.Client) -> None:
    headers = [
        ("accept", "image/png"),
        ("accept", "text/csv;q=0.4, application/sparql-results+xml;q=0.6"),
    ]
    response = client.get("/sparql", params={"query": SELECT}, headers=headers)
    assert response.headers["content-type"] == "application/sparql-results+xml"


def test_vary_and_etag_and_304(client: httpx.Client) -> None:
    first = client.get("/sparql", params={"query": SELECT})
    assert "Accept" in first.headers["vary"]
    etag = first.headers["etag"]
    assert BUILD_HASH in etag
    again = client.get("/sparql", params={"query": SELECT}, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["access-control-allow-origin"] == "*"
    strong = client.get(
        "/sparql", params={"query": SELECT}, headers={"if-none-match": f'"{BUILD_HASH}"'}
    )
    assert strong.status_code == 304
    other = client.get("/sparql", params={"query": SELECT}, headers={"if-none-match": '"other"'})
    assert other.status_code == 200
    posted = client.post("/sparql", data={"query": SELECT}, headers={"if-none-match": etag})
    assert posted.status_code == 200


def test_gzip_when_asked(client: httpx.Client) -> None:
    query = "SELECT * WHERE { ?s ?p ?o }"
    response = client.get("/sparql", params={"query": query}, headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert json.loads(response.content)["head"]["vars"]
    plain = client.get("/sparql", params={"query": query}, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_row_cap_is_signalled(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert response.headers["x-result-truncated"] == "true"
    assert response.headers["x-result-row-cap"] == str(ROW_CAP)
    assert len(response.json()["results"]["bindings"]) == ROW_CAP
    assert "X-Result-Truncated" in response.headers["access-control-expose-headers"]
    small = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 3"})
    assert "x-result-truncated" not in small.headers
    graph = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"})
    assert graph.headers["x-result-truncated"] == "true"
