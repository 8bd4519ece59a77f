"""Competency queries: each queries/competency/*.rq, run on the built release, gives its golden.

Results are compared order-free as multisets of rows; IRIs and literals by value and datatype
or language (numbers by numeric value), blank nodes only by position. ``--update-golden``
rewrites tests/golden/competency/<id>.srj from the current results instead of comparing.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import suppress
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from rdflib import Graph

from conftest import BuiltRelease
from kg_helpers import REPO

QUERIES = sorted((REPO / "queries" / "competency").glob("*.rq"))
GOLDEN = REPO / "tests" / "golden" / "competency"
XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "long", "int",
                             "nonNegativeInteger", "positiveInteger")}  # fmt: skip

Row = frozenset[tuple[str, tuple[str, ...]]]


def test_there_are_competency_queries() -> None:
    assert QUERIES, "queries/competency/ holds no .rq file"


@pytest.fixture(scope="module")
def union(built_release: BuiltRelease) -> Graph:
    """The release's union of all graphs, as published in emk.nt."""
    return Graph().parse(built_release.dist / "emk.nt", format="nt")


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


def _rows(result: dict[str, object]) -> tuple[object, Counter[Row]]:
    if "boolean" in result:
        return result["boolean"], Counter()
    bindings = result["results"]["bindings"]  # type: ignore[index]
    rows = Counter(frozenset((var, _term(b)) for var, b in row.items()) for row in bindings)
    return sorted(result["head"].get("vars", [])), rows  # type: ignore[attr-defined]


def _show(row: Row) -> str:
    return ", ".join(f"?{var}={'|'.join(t for t in term if t)}" for var, term in sorted(row))


@pytest.mark.parametrize("query", QUERIES, ids=lambda p: p.stem)
def test_competency_query_matches_golden(
    query: Path, union: Graph, request: pytest.FixtureRequest
) -> None:
    golden = GOLDEN / f"{query.stem}.srj"
    produced = union.query(query.read_text(encoding="utf-8")).serialize(format="json")
    assert produced is not None
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(produced)
        return
    assert golden.is_file(), f"{query.name} has no golden {golden.relative_to(REPO)}"
    head_expected, expected = _rows(json.loads(golden.read_text(encoding="utf-8")))
    head_actual, actual = _rows(json.loads(produced))
    assert head_actual == head_expected, "the variables (or the ASK answer) differ"
    missing, added = expected - actual, actual - expected
    if missing or added:
        lines = [f"{query.name}: {sum(missing.values())} missing, {sum(added.values())} added"]
        lines += [f"- {_show(r)}" for r in sorted(missing.elements(), key=_show)[:25]]
        lines += [f"+ {_show(r)}" for r in sorted(added.elements(), key=_show)[:25]]
        pytest.fail("\n".join(lines))
