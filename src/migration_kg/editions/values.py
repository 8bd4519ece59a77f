"""Values in a report's text: every amount, date, period, percentage and count, normalised.

Why one module: the coverage audit (is each value in the graph?) and the draft worksheet (which
values should an encoder state?) must read the text the same way. ``EUR 1.2 billion`` →
1200000000, ``6 454`` → 6454, ``28 January`` → 2025-01-28 by the edition-year rule,
``Q2/Q3 2025`` → period ``2025-Q2--2025-Q3``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}
_MONTH = "(" + "|".join(MONTHS) + ")"
_NUM = r"\d{1,3}(?:[  ]\d{3})+|\d+(?:[.,]\d+)?"
_SCALE = {"billion": Decimal(1_000_000_000), "million": Decimal(1_000_000), "m": Decimal(1_000_000)}

# Alternatives in priority order: the first that matches at a position wins.
_TOKEN = re.compile(
    "|".join(
        [
            rf"(?P<amount>(?:EUR|€)\s?(?P<amount_num>{_NUM})(?:\s?(?P<scale>billion|million|m)\b)?)",
            rf"(?P<days>\b(?P<d1>\d{{1,2}})(?:\s*(?:-|\u2013|and)\s*(?P<d2>\d{{1,2}}))?\s+{_MONTH}"
            r"(?:\s+(?P<dyear>\d{4}))?)",
            rf"(?P<monthyear>\b{_MONTH}\s+(?P<myear>\d{{4}}))",
            r"(?P<quarter>\bQ(?P<q1>[1-4])(?:/Q(?P<q2>[1-4]))?\s+(?P<qyear>\d{4}))",
            r"(?P<half>\b(?P<which>first|second)\s+(?:half|semester)\s+(?:of\s+)?(?P<hyear>\d{4}))",
            r"(?P<actnumber>\b\d{2,4}/\d{2,4}(?:/[A-Z]{2,3})?)",
            r"(?P<years>\b(?P<y1>(?:19|20)\d{2})\s?[-\u2013]\s?(?P<y2>(?:19|20)\d{2})\b)",
            rf"(?P<percent>(?P<sign>[-\u2212+])?(?P<pnum>{_NUM})\s?%)",
            r"(?P<ordinal>\b(?P<onum>\d+)\s?(?:\^\{)?(?:st|nd|rd|th)\b\}?)",
            r"(?P<year>\b(?:19|20)\d{2}\b)",
            rf"(?P<count>(?<![\w/.\-])(?:{_NUM})(?![\w/]))",
        ]
    )
)


@dataclass(frozen=True)
class ReportValue:
    """One value found in the report: where, as written, what kind, and its normal form."""

    line: int
    text: str
    kind: str
    normal: str
    column: int = field(default=0, compare=False)  # where the match starts in its line


def _number(text: str) -> Decimal:
    return Decimal(re.sub(r"[  ]", "", text).replace(",", "."))


def normalise(match: re.Match[str], edition_year: int) -> tuple[str, str]:
    """Return (kind, normal form) for one token match of the report text."""
    kind = match.lastgroup if match.lastgroup in _KINDS else _kind_of(match)
    g = match.groupdict()
    if kind == "amount":
        value = _number(g["amount_num"]) * _SCALE.get(g["scale"] or "", Decimal(1))
        return kind, _decimal_text(value)
    if kind == "days":
        year = int(g["dyear"] or edition_year)
        month = MONTHS[match.group(match.re.groupindex["days"] + 3)]
        days = [int(g["d1"])] + ([int(g["d2"])] if g["d2"] else [])
        return kind, " ".join(date(year, month, d).isoformat() for d in days)
    if kind == "monthyear":
        month = MONTHS[match.group(match.re.groupindex["monthyear"] + 1)]
        return kind, f"{int(g['myear']):04d}-{month:02d}"
    if kind == "quarter":
        slug = f"{g['qyear']}-Q{g['q1']}"
        return kind, slug + (f"--{g['qyear']}-Q{g['q2']}" if g["q2"] else "")
    if kind == "half":
        return kind, f"{g['hyear']}-H{1 if g['which'] == 'first' else 2}"
    if kind == "years":
        return kind, f"{g['y1']}--{g['y2']}"
    if kind == "percent":
        return kind, _decimal_text(_number(g["pnum"]))
    if kind == "ordinal":
        return kind, g["onum"]
    if kind in ("year", "actnumber"):
        return kind, match.group(kind)
    return "count", _decimal_text(_number(match.group("count")))


_KINDS = [
    "amount",
    "days",
    "monthyear",
    "quarter",
    "half",
    "actnumber",
    "years",
    "percent",
    "ordinal",
    "year",
    "count",
]


def _kind_of(match: re.Match[str]) -> str:
    for kind in _KINDS:
        if match.group(kind) is not None:
            return kind
    raise AssertionError("token regex matched no alternative")


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def extract_values(text: str, edition_year: int) -> Iterator[ReportValue]:
    """Every number, amount, percentage and date in the report text, with its line."""
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _TOKEN.finditer(line):
            try:
                kind, normal = normalise(match, edition_year)
            except (InvalidOperation, ValueError):
                kind, normal = "unreadable", match.group(0)
            yield ReportValue(number, match.group(0).strip(), kind, normal, match.start())
