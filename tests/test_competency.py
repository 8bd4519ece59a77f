"""Competency queries: each queries/competency/*.rq, run on the built release, gives its golden.

A golden (``tests/golden/competency/<id>.srj``) is a claim about the report. It is checked with
the engine that serves the queries (pyoxigraph, over the union of the release's named graphs, as
the endpoint answers by default), and rdflib's answer is kept as a second opinion: it must agree
with pyoxigraph except for the queries listed in ``RDFLIB_DIFFERS`` with the reason.

Results are compared order-free as multisets of rows; IRIs and literals by value and datatype or
language (numbers by numeric value), blank nodes only by position. Goldens are stored one value
per line, rows sorted, so that a changed result is a readable diff. ``--update-golden`` rewrites
only the goldens whose results changed, prints each change as a diff for review, and refuses to
run under CI (a golden is never refreshed unseen).
"""

from __future__ import annotations

import difflib
import json
import os
from collections import Counter
from contextlib import suppress
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import Graph

from kg_helpers import REPO, BuiltRelease

QUERIES = sorted((REPO / "queries" / "competency").glob("*.rq"))
GOLDEN = REPO / "tests" / "golden" / "competency"
XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "long", "int",
                             "nonNegativeInteger", "positiveInteger")}  # fmt: skip
# Queries whose rdflib answer differs from pyoxigraph's (the golden follows pyoxigraph), and why.
RDFLIB_DIFFERS: dict[str, str] = {}

Row = frozenset[tuple[str, tuple[str, ...]]]
Result = dict[str, Any]


def test_there_are_competency_queries() -> None:
    assert QUERIES, "queries/competency/ holds no .rq file"


@pytest.fixture(scope="module")
def store(built_release: BuiltRelease) -> ox.Store:
    """The release as the server loads it: every named graph of emk.trig."""
    loaded = ox.Store()
    loaded.bulk_load(path=str(built_release.dist / "emk.trig"), format=ox.RdfFormat.TRIG)
    return loaded


@pytest.fixture(scope="module")
def union(built_release: BuiltRelease) -> Graph:
    """The release's union of all graphs, as published in emk.nt (rdflib's view)."""
    return Graph().parse(built_release.dist / "emk.nt", format="nt")


def evaluate(store: ox.Store, query: Path) -> Result:
    """The query's SPARQL JSON results from pyoxigraph, the default graph being the union."""
    results = store.query(query.read_text(encoding="utf-8"), use_default_graph_as_union=True)
    return json.loads(results.serialize(format=ox.QueryResultsFormat.JSON))  # type: ignore[union-attr]


def golden_text(result: Result) -> str:
    """One value per line, keys and rows sorted: the stored form of a golden."""
    if "boolean" in result:
        document: Result = {"head": {}, "boolean": result["boolean"]}
    else:
        rows = [dict(sorted(row.items())) for row in result["results"]["bindings"]]
        rows.sort(key=lambda row: json.dumps(row, sort_keys=True, ensure_ascii=False))
        document = {"head": {"vars": result["head"].get("vars", [])}, "results": {"bindings": rows}}
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _term(binding: dict[str, str]) -> tuple[str, ...]:
    kind = binding["type"]
    if kind == "bnode":
        return ("bnode",)
    if kind == "uri":
        return ("uri", binding["value"])
    datatype = binding.get("datatype", "")
    value = binding["value"]
    if datatype in NUMERIC:
        with suppress(InvalidOperation):  # keep the text of a malformed number
            value = format(Decimal(value).normalize(), "f")
    return ("literal", value, datatype, binding.get("xml:lang", "").lower())


def _rows(result: Result) -> tuple[object, Counter[Row]]:
    if "boolean" in result:
        return result["boolean"], Counter()
    bindings = result["results"]["bindings"]
    rows = Counter(frozenset((var, _term(b)) for var, b in row.items()) for row in bindings)
    return sorted(result["head"].get("vars", [])), rows


def _show(row: Row) -> str:
    return ", ".join(f"?{var}={'|'.join(t for t in term if t)}" for var, term in sorted(row))


def differences(name: str, expected: Result, actual: Result) -> str | None:
    """None when both results hold the same rows; otherwise what is missing and what is added."""
    head_expected, rows_expected = _rows(expected)
    head_actual, rows_actual = _rows(actual)
    if head_actual != head_expected:
        return f"{name}: the variables (or the ASK answer) differ: {head_expected} → {head_actual}"
    missing, added = rows_expected - rows_actual, rows_actual - rows_expected
    if not (missing or added):
        return None
    lines = [f"{name}: {sum(missing.values())} missing, {sum(added.values())} added"]
    lines += [f"- {_show(r)}" for r in sorted(missing.elements(), key=_show)[:25]]
    lines += [f"+ {_show(r)}" for r in sorted(added.elements(), key=_show)[:25]]
    return "\n".join(lines)


def update_golden(golden: Path, produced: Result) -> None:
    """Rewrite ``golden`` only if its rows changed, printing the change for review."""
    if os.environ.get("CI"):
        pytest.fail("--update-golden refuses to run under CI: goldens are reviewed by people")
    old = golden.read_text(encoding="utf-8") if golden.is_file() else ""
    if old and differences(golden.name, json.loads(old), produced) is None:
        return
    new = golden_text(produced)
    diff = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), str(golden), str(golden)
    )
    print("".join(diff))
    golden.parent.mkdir(parents=True, exist_ok=True)
    golden.write_text(new, encoding="utf-8")


@pytest.mark.parametrize("query", QUERIES, ids=lambda p: p.stem)
def test_competency_query_matches_golden(
    query: Path, store: ox.Store, request: pytest.FixtureRequest
) -> None:
    golden = GOLDEN / f"{query.stem}.srj"
    produced = evaluate(store, query)
    if request.config.getoption("--update-golden"):
        update_golden(golden, produced)
        return
    assert golden.is_file(), f"{query.name} has no golden {golden.relative_to(REPO)}"
    text = golden.read_text(encoding="utf-8")
    expected = json.loads(text)
    assert text == golden_text(expected), (
        f"{golden.name} is not in the sorted one-value-per-line form"
    )
    problem = differences(query.name, expected, produced)
    if problem:
        pytest.fail(problem)


@pytest.mark.parametrize("query", QUERIES, ids=lambda p: p.stem)
def test_rdflib_agrees_with_the_serving_engine(query: Path, store: ox.Store, union: Graph) -> None:
    """A second opinion: a query both engines answer alike is less likely to be answered wrong."""
    produced = union.query(query.read_text(encoding="utf-8")).serialize(format="json")
    assert produced is not None
    problem = differences(query.name, evaluate(store, query), json.loads(produced))
    if query.stem in RDFLIB_DIFFERS:
        assert problem, f"{query.stem} is listed in RDFLIB_DIFFERS but rdflib now agrees: unlist it"
    elif problem:
        pytest.fail(f"rdflib disagrees with pyoxigraph:\n{problem}")
