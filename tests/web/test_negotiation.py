"""negotiation.py: q-values, specificity, wildcards, aliases, format= override, 406 listing."""

from __future__ import annotations

import pytest

from migration_kg.core.errors import BadRequest, NotAcceptable
from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.web.negotiation import FORMAT_NAMES, negotiate, parse_accept

RESULTS = tuple(ResultFormat)
GRAPHS = tuple(RdfFormat)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, ResultFormat.JSON),
        ("", ResultFormat.JSON),
        ("*/*", ResultFormat.JSON),
        ("text/csv", ResultFormat.CSV),
        ("text/*", ResultFormat.CSV),
        ("text/csv;q=0.5, text/tab-separated-values", ResultFormat.TSV),
        (
            "application/sparql-results+xml;q=0.9, application/sparql-results+json;q=0.8",
            ResultFormat.XML,
        ),
        ("application/json", ResultFormat.JSON),
        ("text/xml", ResultFormat.XML),
        ("text/*;q=0.1, */*;q=0.05, text/csv;q=0", ResultFormat.TSV),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", ResultFormat.XML),
        ("TEXT/CSV", ResultFormat.CSV),
        ("garbage, text/csv;q=abc, text/tab-separated-values;q=0.3", ResultFormat.TSV),
    ],
)
def test_results_accept(accept: str | None, expected: ResultFormat) -> None:
    assert negotiate(accept, (), RESULTS) is expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, RdfFormat.TURTLE),
        ("application/n-triples", RdfFormat.NTRIPLES),
        ("application/ld+json", RdfFormat.JSONLD),
        ("application/json", RdfFormat.JSONLD),
        ("application/rdf+xml;q=1, text/turtle;q=0.5", RdfFormat.RDFXML),
        ("application/trig", RdfFormat.TRIG),
        ("application/n-quads", RdfFormat.NQUADS),
        ("text/x-nquads", RdfFormat.NQUADS),
    ],
)
def test_graph_accept(accept: str | None, expected: RdfFormat) -> None:
    assert negotiate(accept, (), GRAPHS) is expected


def test_format_parameter_overrides_accept_and_depends_on_family() -> None:
    assert negotiate("text/csv", ["json"], RESULTS) is ResultFormat.JSON
    assert negotiate(None, ["xml"], RESULTS) is ResultFormat.XML
    assert negotiate(None, ["xml"], GRAPHS) is RdfFormat.RDFXML
    assert negotiate(None, ["json"], GRAPHS) is RdfFormat.JSONLD
    assert negotiate(None, ["text/turtle"], GRAPHS) is RdfFormat.TURTLE
    for fmt in (*RESULTS, *GRAPHS):
        family = RESULTS if isinstance(fmt, ResultFormat) else GRAPHS
        assert negotiate(None, [FORMAT_NAMES[fmt][0]], family) is fmt


def test_not_acceptable_lists_offered() -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate("image/png", (), RESULTS)
    assert info.value.offered == tuple(f.media_type for f in RESULTS)
    assert "text/csv" in str(info.value)
    with pytest.raises(NotAcceptable):
        negotiate(None, ["turtle"], RESULTS)
    with pytest.raises(NotAcceptable):
        negotiate("text/csv;q=0", (), (ResultFormat.CSV,))


def test_parse_accept_skips_malformed() -> None:
    ranges = parse_accept("text/csv;q=0.5, nonsense, */plain, a/b;q=2, text/*")
    assert [(r.type, r.subtype, r.q) for r in ranges] == [("text", "csv", 0.5), ("text", "*", 1.0)]


def test_repeated_format_values_must_agree() -> None:
    assert negotiate(None, ["tsv", "text/tab-separated-values"], RESULTS) is ResultFormat.TSV
    jsonld = ["json-ld", "application/ld+json,application/x-json+ld"]
    assert negotiate(None, jsonld, GRAPHS) is RdfFormat.JSONLD
    with pytest.raises(BadRequest, match="conflicting"):
        negotiate(None, ["json", "csv"], RESULTS)
