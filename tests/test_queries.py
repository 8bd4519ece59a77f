"""Named queries: header parsing, ids, and every file in queries/ parses as SPARQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib.plugins.sparql import prepareQuery

from kg_helpers import REPO
from migration_kg.core.errors import SourceError, UnknownQuery
from migration_kg.core.queries import QueryParam, load_catalogue, parse_query_file

QUERY_FILES = sorted((REPO / "queries").rglob("*.rq"))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_header_is_parsed(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "funding-for-country.rq",
        "# title: Funding for a country\n"
        "# description: Which commitments does the report list for a country?\n"
        "# param: ?country the country, e.g. country:tunisia\n"
        "# param: ?year\n"
        "# a free comment\n"
        "SELECT ?x WHERE { ?x ?p ?country }\n",
    )
    query = parse_query_file(path)
    assert query.id == "funding-for-country"
    assert query.title == "Funding for a country"
    assert query.description == "Which commitments does the report list for a country?"
    assert query.params == (
        QueryParam("country", "the country, e.g. country:tunisia"),
        QueryParam("year", ""),
    )
    assert query.text.endswith("SELECT ?x WHERE { ?x ?p ?country }\n")


@pytest.mark.parametrize(
    ("name", "text", "message", "line"),
    [
        ("Bad_Id.rq", "# title: t\n# description: d\nASK {}", "kebab-case", None),
        ("no-title.rq", "# description: d\nASK {}", "missing '# title", 1),
        ("twice.rq", "# title: a\n# title: b\n# description: d\nASK {}", "given twice", 2),
        ("empty.rq", "# title:\n# description: d\nASK {}", "is empty", 1),
        ("bad-param.rq", "# title: t\n# description: d\n# param: country\nASK {}", "param", 3),
        ("late.rq", "ASK {}\n# title: t\n# description: d\n", "missing '# title", 1),
    ],
)
def test_bad_headers_name_file_and_line(
    tmp_path: Path, name: str, text: str, message: str, line: int | None
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(SourceError, match=message) as caught:
        parse_query_file(path)
    assert (caught.value.path, caught.value.line) == (path, line)


def test_catalogue_is_sorted_and_rejects_duplicate_ids(tmp_path: Path) -> None:
    header = "# title: t\n# description: d\nASK {}\n"
    _write(tmp_path, "b-query.rq", header)
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "a-query.rq", header)
    catalogue = load_catalogue(tmp_path)
    assert list(catalogue) == ["a-query", "b-query"]
    with pytest.raises(UnknownQuery):
        catalogue["c-query"]
    _write(tmp_path / "sub", "b-query.rq", header)
    with pytest.raises(SourceError, match="also used by"):
        load_catalogue(tmp_path)


def test_the_repository_has_named_queries() -> None:
    assert QUERY_FILES, "queries/ holds no .rq file"
    assert len(load_catalogue(REPO / "queries")) == len(QUERY_FILES)


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_every_query_parses(path: Path) -> None:
    query = parse_query_file(path)
    prepareQuery(query.text)
