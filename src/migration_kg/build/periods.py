"""Period IRIs: parse the slug grammar of data/README.md into label, first and last day.

Why: due periods such as "Q2/Q3 2025" must be comparable in SPARQL, and writing their start and
end dates by hand in every file invites slips. Period resources are derived from their IRIs
instead (``migration-kg periods`` writes ``data/shared/periods.ttl``), so one rule fixes them all.
Place in the flow: after loading; the build checks that periods.ttl matches the data before
validating it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from migration_kg.build.loading import (
    LoadedSources,
    SourceFile,
    SourceKind,
    discover_sources,
    find_line,
    parse_turtle,
)
from migration_kg.core.errors import SourceError
from migration_kg.core.formats import RdfFormat
from migration_kg.core.names import GRANULARITY_BASE, PERIOD_BASE
from migration_kg.core.namespaces import EMK, PREFIXES
from migration_kg.core.settings import Settings

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
            except (ValueError, IndexError) as exc:  # e.g. month 13, 31 February
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


_BUILDERS: dict[str, Callable[..., tuple[str, date, date]]] = {
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


# --- The generated period file and the build's check of it -------------------------------------

PERIODS_FILE = "data/shared/periods.ttl"
_PERIOD_HEADER = (
    "# GENERATED by `migration-kg periods` from every period IRI used in data/: do not edit.\n"
    "# The build fails if this file is stale; run the command again after changing data.\n"
)


def period_graph(periods: Iterable[Period]) -> Graph:
    """Each period's triples: type, English label, first and last day, granularity."""
    graph = Graph(bind_namespaces="none")
    for prefix in ("rdfs", "xsd", "emk"):
        graph.bind(prefix, PREFIXES[prefix])
    graph.bind("period", PERIOD_BASE)
    graph.bind("granularity", GRANULARITY_BASE)
    for period in periods:
        node = URIRef(period.iri)
        graph.add((node, RDF.type, EMK.Period))
        graph.add((node, RDFS.label, Literal(period.label, lang="en")))
        graph.add((node, EMK.startDate, Literal(period.start.isoformat(), datatype=XSD.date)))
        graph.add((node, EMK.endDate, Literal(period.end.isoformat(), datatype=XSD.date)))
        graph.add((node, EMK.granularity, URIRef(GRANULARITY_BASE + period.granularity)))
    return graph


def used_periods(graphs: Iterable[tuple[SourceFile, Graph]]) -> dict[str, tuple[Period, list[str]]]:
    """Every period IRI used in the given graphs, parsed, with the files that use it.

    Raises:
        SourceError: naming the file and line of a period IRI whose slug breaks the grammar.
    """
    found: dict[str, tuple[Period, list[str]]] = {}
    for source, graph in graphs:
        for node in sorted({str(n) for t in graph for n in t if str(n).startswith(PERIOD_BASE)}):
            slug = node[len(PERIOD_BASE) :]
            if slug not in found:
                try:
                    found[slug] = (parse_period(slug), [])
                except PeriodSlugError as exc:
                    raise SourceError(source.path, str(exc), find_line(source.path, slug)) from exc
            if source.relpath not in found[slug][1]:
                found[slug][1].append(source.relpath)
    return found


def write_periods(settings: Settings) -> Path:
    """Regenerate ``data/shared/periods.ttl`` from the period IRIs used in data/ (sorted, stable).

    Raises:
        SourceError: if a data file cannot be parsed or uses a malformed period IRI.
    """
    target = settings.root / PERIODS_FILE
    data = [
        f
        for f in discover_sources(settings)
        if f.kind in (SourceKind.DATA, SourceKind.LINKS) and f.relpath != PERIODS_FILE
    ]
    used = used_periods((f, parse_turtle(f.path)) for f in data)
    periods = [used[slug][0] for slug in sorted(used)]
    body = period_graph(periods).serialize(format=RdfFormat.TURTLE.rdflib_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_PERIOD_HEADER + body, encoding="utf-8")
    return target


def check_periods(loaded: LoadedSources) -> int:
    """Fail unless periods.ttl describes exactly the periods used in data/, as their IRIs say.

    Why: period triples are derived, never written by hand; a stale or hand-edited periods.ttl
    would ship wrong dates. A file other than periods.ttl may restate a period (the report
    file states its publication month) but must agree with the derivation.

    Returns:
        The number of periods checked.

    Raises:
        SourceError: naming the period and the file that uses or misdescribes it.
    """
    data = loaded.of_kind(SourceKind.DATA, SourceKind.LINKS)
    generated = next((f for f in data if f.relpath == PERIODS_FILE), None)
    users = [(f, loaded.graph(f)) for f in data if f.relpath != PERIODS_FILE]
    used = used_periods(users)
    if generated is None:
        if used:
            raise SourceError(PERIODS_FILE, "missing; run `migration-kg periods` to generate it")
        return 0
    actual = loaded.graph(generated)
    described = {str(s)[len(PERIOD_BASE) :] for s in actual.subjects() if isinstance(s, URIRef)}
    for slug, (period, files) in sorted(used.items()):
        expected = set(period_graph([period]))
        node = URIRef(period.iri)
        if set(actual.triples((node, None, None))) != expected:
            raise SourceError(
                generated.path,
                f"stale: period:{slug} (used in {', '.join(files)}) is missing or described "
                "differently from its IRI; run `migration-kg periods`",
                find_line(generated.path, slug),
            )
        for source, graph in users:
            for triple in graph.triples((node, None, None)):
                if triple[1] in _DERIVED and triple not in expected:
                    raise SourceError(
                        source.path,
                        f"period:{slug} is described by hand as {triple[2].n3()} for "
                        f"{triple[1].n3()}, which contradicts its IRI (see {PERIODS_FILE})",
                        find_line(source.path, slug),
                    )
    unused = sorted(described - set(used))
    if unused:
        raise SourceError(
            generated.path,
            f"stale: describes period:{unused[0]}, which no data file uses; "
            "run `migration-kg periods`",
            find_line(generated.path, unused[0]),
        )
    return len(used)


_DERIVED = frozenset({RDF.type, RDFS.label, EMK.startDate, EMK.endDate, EMK.granularity})
