"""The coverage audit's normaliser on real report phrasings, and its graph checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from migration_kg.build.periods import PERIOD_BASE
from migration_kg.core.errors import SourceError
from migration_kg.editions.audit import (
    AuditConfig,
    GraphIndex,
    ReportValue,
    extract_values,
    run_audit,
)


def _values(text: str) -> list[tuple[str, str]]:
    return [(v.kind, v.normal) for v in extract_values(text, 2025)]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("EUR 3 billion will be available", [("amount", "3000000000")]),
        ("a EUR 1.2 billion top-up", [("amount", "1200000000")]),
        ("(EUR 45.7 million)", [("amount", "45700000")]),
        (
            "the regional programme (EUR 36 m 2023-2027)",
            [("amount", "36000000"), ("years", "2023--2027")],
        ),
        ("along with EUR 300 000 for", [("amount", "300000")]),
        ("EUR 1.75 million (MISPEAC-MPF)", [("amount", "1750000")]),
        ("6454 persons out of 8 289 pledges", [("count", "6454"), ("count", "8289")]),
        ("in the first meeting (28 January)", [("days", "2025-01-28")]),
        ("discussed (16 December 2024) the", [("days", "2024-12-16")]),
        ("AMMR Contact Group on 18-19 March", [("days", "2025-03-18 2025-03-19")]),
        ("took place on 25 and 26 February", [("days", "2025-02-25 2025-02-26")]),
        ("is expected for Q2/Q3 2025.", [("quarter", "2025-Q2--2025-Q3")]),
        ("planned for Q1 2026", [("quarter", "2026-Q1")]),
        ("to be published in the first half of 2025", [("half", "2025-H1")]),
        ("dropped by 59% compared to 2023", [("percent", "59"), ("year", "2023")]),
        ("(a 26.6% increase compared", [("percent", "26.6")]),
        ("(around -80% compared", [("percent", "80")]),
        ("The 2 nd Migration and Mobility Dialogue", [("ordinal", "2")]),
        ("the 6^{th} Article 25a assessment report", [("ordinal", "6")]),
        ("Regulation (EU) 2018/1806 adopted", [("actnumber", "2018/1806")]),
        ("Directive 2009/52/EC and", [("actnumber", "2009/52/EC")]),
        ("launched in September 2024 with", [("monthyear", "2024-09")]),
    ],
)
def test_normaliser_reads_report_phrasings(phrase: str, expected: list[tuple[str, str]]) -> None:
    assert _values(phrase) == expected


def test_every_value_keeps_its_line() -> None:
    values = list(extract_values("no numbers here\nEUR 5 million on 1 April", 2025))
    assert [(v.line, v.text) for v in values] == [(2, "EUR 5 million"), (2, "1 April")]


def _graph_with(*literals: Literal, periods: tuple[str, ...] = ()) -> Graph:
    g = Graph()
    subject = URIRef("https://w3id.org/eu-migration-kg/id/funding/x")
    for i, lit in enumerate(literals):
        g.add((subject, URIRef(f"https://example.org/p{i}"), lit))
    for slug in periods:
        g.add((subject, URIRef("https://example.org/period"), URIRef(PERIOD_BASE + slug)))
    return g


def test_index_requires_the_right_datatype() -> None:
    index = GraphIndex(_graph_with(Literal("3000000000", datatype=XSD.decimal)))
    amount = ReportValue(1, "EUR 3 billion", "amount", "3000000000")
    assert index.holds(amount)
    as_string = GraphIndex(_graph_with(Literal("3000000000")))
    assert not as_string.holds(amount)


def test_index_accepts_a_fall_stored_as_negative_change() -> None:
    index = GraphIndex(_graph_with(Literal("-59", datatype=XSD.decimal)))
    assert index.holds(ReportValue(1, "59%", "percent", "59"))


def test_index_matches_periods_by_iri() -> None:
    index = GraphIndex(_graph_with(periods=("2025-Q2--2025-Q3",)))
    assert index.holds(ReportValue(1, "Q2/Q3 2025", "quarter", "2025-Q2--2025-Q3"))
    assert not index.holds(ReportValue(1, "Q4 2025", "quarter", "2025-Q4"))


def test_audit_counts_held_waived_and_missing(tmp_path: Path) -> None:
    config_file = tmp_path / "audit.toml"
    config_file.write_text(
        "edition_year = 2025\n[sections]\nfirst = 1\nsecond = 3\n"
        '[[waiver]]\nline = 2\ntext = "7"\nreason = "page number"\n',
        encoding="utf-8",
    )
    config = AuditConfig.read(config_file)
    graph = _graph_with(Literal("5000000", datatype=XSD.decimal))
    report = run_audit("EUR 5 million\n7\nEUR 9 million", graph, config)
    first, second = report
    assert (len(first.represented), len(first.waived), len(first.missing)) == (1, 1, 0)
    assert [v.text for v in second.missing] == ["EUR 9 million"]
    assert second.coverage == 0.0


def test_malformed_audit_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "audit.toml"
    bad.write_text("edition_year = \n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"audit\.toml"):
        AuditConfig.read(bad)
