"""Periods: the slug grammar on real report phrasings, the generated file and the build's check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from kg_helpers import REPO, TINY_DATA
from migration_kg.build.loading import load_sources
from migration_kg.build.periods import (
    PERIODS_FILE,
    PeriodSlugError,
    check_periods,
    parse_period,
    write_periods,
)
from migration_kg.core.errors import SourceError
from migration_kg.core.settings import Settings


@pytest.mark.parametrize(
    ("phrase", "slug", "label", "start", "end", "granularity"),
    [
        ("on 12 June", "2025-06-12", "12 June 2025", "2025-06-12", "2025-06-12", "day"),
        ("13-14 March", "2025-03-13--2025-03-14", "13 March 2025 to 14 March 2025",
         "2025-03-13", "2025-03-14", "days"),
        ("in February", "2025-02", "February 2025", "2025-02-01", "2025-02-28", "month"),
        ("in the first two months of the year", "2025-01--2025-02",
         "January 2025 to February 2025", "2025-01-01", "2025-02-28", "months"),
        ("in Q2 2025", "2025-Q2", "Q2 2025", "2025-04-01", "2025-06-30", "quarter"),
        ("Q2/Q3 2025", "2025-Q2--2025-Q3", "Q2/Q3 2025", "2025-04-01", "2025-09-30", "quarters"),
        ("Q4 2025 to Q1 2026", "2025-Q4--2026-Q1", "Q4 2025 to Q1 2026",
         "2025-10-01", "2026-03-31", "quarters"),
        ("in the first half of 2025", "2025-H1", "first half of 2025",
         "2025-01-01", "2025-06-30", "half-year"),
        ("mid-2026 (second half)", "2026-H2", "second half of 2026",
         "2026-07-01", "2026-12-31", "half-year"),
        ("before summer", "2025-summer", "summer 2025", "2025-06-01", "2025-08-31", "season"),
        ("in 2024", "2024", "2024", "2024-01-01", "2024-12-31", "year"),
        ("2021-2027 MFF", "2021--2027", "2021-2027", "2021-01-01", "2027-12-31", "years"),
        ("by end of February 2024 (leap year)", "2024-02", "February 2024",
         "2024-02-01", "2024-02-29", "month"),
    ],
)  # fmt: skip
def test_report_phrasings(
    phrase: str, slug: str, label: str, start: str, end: str, granularity: str
) -> None:
    period = parse_period(slug)
    assert (period.label, period.granularity) == (label, granularity), phrase
    assert (period.start, period.end) == (date.fromisoformat(start), date.fromisoformat(end))


@pytest.mark.parametrize(
    "slug", ["2025-13", "2025-02-30", "2025-Q5", "2025-winter", "mid-2026", "2025-Q3--2025-Q1", ""]
)
def test_bad_slugs_are_rejected(slug: str) -> None:
    with pytest.raises(PeriodSlugError):
        parse_period(slug)


def test_the_repository_periods_file_is_up_to_date() -> None:
    """The committed data/shared/periods.ttl matches the data (else the build fails)."""
    assert check_periods(load_sources(Settings(root=REPO))) > 0


def test_write_periods_is_deterministic(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    path = settings.root / PERIODS_FILE
    first = path.read_bytes()
    write_periods(settings)
    assert path.read_bytes() == first
    assert b"period:2025-Q2 a emk:Period" in first
    assert b'"2025-06-30"^^xsd:date' in first


def test_missing_period_names_period_and_using_file(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    data = settings.data_dir / "2025-03" / "01-tiny.ttl"
    data.write_text(TINY_DATA.replace("period:2025-Q2 .", "period:2025-Q3 ."), encoding="utf-8")
    with pytest.raises(SourceError, match=r"period:2025-Q3 \(used in data/2025-03/01-tiny.ttl\)"):
        check_periods(load_sources(settings))


def test_unused_period_in_periods_file_is_stale(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    data = settings.data_dir / "2025-03" / "01-tiny.ttl"
    data.write_text(TINY_DATA.replace("    emk:period period:2025-Q2 .", "."), encoding="utf-8")
    with pytest.raises(SourceError, match="stale: describes period:2025-Q2"):
        check_periods(load_sources(settings))


def test_hand_written_contradiction_names_the_file(tiny_project: Callable[..., Settings]) -> None:
    wrong = TINY_DATA + '\nperiod:2025-Q2 rdfs:label "spring 2025"@en .\n'
    settings = tiny_project(data=wrong)
    with pytest.raises(SourceError, match="described by hand") as caught:
        check_periods(load_sources(settings))
    assert caught.value.path.name == "01-tiny.ttl"


def test_bad_slug_in_data_names_the_file(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    data = settings.data_dir / "2025-03" / "01-tiny.ttl"
    data.write_text(TINY_DATA.replace("period:2025-Q2 .", "period:mid-2026 ."), encoding="utf-8")
    with pytest.raises(SourceError, match="mid-2026") as caught:
        write_periods(settings)
    assert caught.value.path == data
    assert caught.value.line == 14


def test_missing_periods_file_fails(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    (settings.root / PERIODS_FILE).unlink()
    with pytest.raises(SourceError, match="migration-kg periods"):
        check_periods(load_sources(settings))
