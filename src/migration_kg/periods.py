"""Period IRIs: parse the slug grammar of data/README.md into label, first and last day.

Why: due periods such as "Q2/Q3 2025" must be comparable in SPARQL, and writing their start and
end dates by hand in every file invites slips. Period resources are derived from their IRIs
instead (``migration-kg periods`` writes ``data/shared/periods.ttl``), so one rule fixes them all.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

PERIOD_BASE = "https://w3id.org/eu-migration-kg/id/period/"

_MONTHS = [calendar.month_name[m] for m in range(13)]
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11)}
_HALF_LABEL = {1: "first half", 2: "second half"}

_DAY = r"(\d{4})-(\d{2})-(\d{2})"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("days", re.compile(rf"^{_DAY}--{_DAY}$")),
    ("day", re.compile(rf"^{_DAY}$")),
    ("months", re.compile(r"^(\d{4})-(\d{2})--(\d{4})-(\d{2})$")),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("quarters", re.compile(r"^(\d{4})-Q([1-4])--(\d{4})-Q([1-4])$")),
    ("quarter", re.compile(r"^(\d{4})-Q([1-4])$")),
    ("half-year", re.compile(r"^(\d{4})-H([12])$")),
    ("season", re.compile(r"^(\d{4})-(spring|summer|autumn)$")),
    ("years", re.compile(r"^(\d{4})--(\d{4})$")),
    ("year", re.compile(r"^(\d{4})$")),
]


class PeriodSlugError(ValueError):
    """A period IRI does not follow the grammar, or its end falls before its start."""


@dataclass(frozen=True)
class Period:
    """A period as derived from its slug."""

    slug: str
    label: str
    start: date
    end: date
    granularity: str

    @property
    def iri(self) -> str:
        return PERIOD_BASE + self.slug


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _day_label(d: date) -> str:
    return f"{d.day} {_MONTHS[d.month]} {d.year}"


def parse_period(slug: str) -> Period:
    """Derive a period from its slug (the part of the IRI after ``id/period/``).

    Raises:
        PeriodSlugError: if the slug matches no rule or describes an empty or invalid span.
    """
    for kind, pattern in _PATTERNS:
        match = pattern.match(slug)
        if match:
            try:
                label, start, end = _BUILDERS[kind](*match.groups())
            except ValueError as exc:  # e.g. month 13, 31 February
                raise PeriodSlugError(f"period '{slug}': {exc}") from exc
            if end < start:
                raise PeriodSlugError(f"period '{slug}' ends before it starts")
            return Period(slug, label, start, end, kind)
    raise PeriodSlugError(
        f"period '{slug}' does not follow the grammar "
        "(YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY-Hn, YYYY-season, YYYY, or two of a kind joined by --)"
    )


def _day(y: str, m: str, d: str) -> tuple[str, date, date]:
    day = date(int(y), int(m), int(d))
    return _day_label(day), day, day


def _days(y1: str, m1: str, d1: str, y2: str, m2: str, d2: str) -> tuple[str, date, date]:
    a, b = date(int(y1), int(m1), int(d1)), date(int(y2), int(m2), int(d2))
    return f"{_day_label(a)} to {_day_label(b)}", a, b


def _month(y: str, m: str) -> tuple[str, date, date]:
    year, month = int(y), int(m)
    return f"{_MONTHS[month]} {year}", date(year, month, 1), _month_end(year, month)


def _months(y1: str, m1: str, y2: str, m2: str) -> tuple[str, date, date]:
    a, b = date(int(y1), int(m1), 1), _month_end(int(y2), int(m2))
    return f"{_MONTHS[a.month]} {a.year} to {_MONTHS[b.month]} {b.year}", a, b


def _quarter(y: str, q: str) -> tuple[str, date, date]:
    year, quarter = int(y), int(q)
    return (
        f"Q{quarter} {year}",
        date(year, 3 * quarter - 2, 1),
        _month_end(year, 3 * quarter),
    )


def _quarters(y1: str, q1: str, y2: str, q2: str) -> tuple[str, date, date]:
    _, a, _ = _quarter(y1, q1)
    _, _, b = _quarter(y2, q2)
    label = f"Q{q1}/Q{q2} {y1}" if y1 == y2 else f"Q{q1} {y1} to Q{q2} {y2}"
    return label, a, b


def _half(y: str, h: str) -> tuple[str, date, date]:
    year, half = int(y), int(h)
    return (
        f"{_HALF_LABEL[half]} of {year}",
        date(year, 6 * half - 5, 1),
        _month_end(year, 6 * half),
    )


def _season(y: str, s: str) -> tuple[str, date, date]:
    first, last = _SEASONS[s]
    return f"{s} {y}", date(int(y), first, 1), _month_end(int(y), last)


def _year(y: str) -> tuple[str, date, date]:
    return y, date(int(y), 1, 1), date(int(y), 12, 31)


def _years(y1: str, y2: str) -> tuple[str, date, date]:
    return f"{y1}-{y2}", date(int(y1), 1, 1), date(int(y2), 12, 31)


_BUILDERS = {
    "day": _day,
    "days": _days,
    "month": _month,
    "months": _months,
    "quarter": _quarter,
    "quarters": _quarters,
    "half-year": _half,
    "season": _season,
    "year": _year,
    "years": _years,
}
