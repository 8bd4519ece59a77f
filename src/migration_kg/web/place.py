"""Country, route and region pages: statistics, funding, cooperation and a timeline of a place.

A place's own triples say little (a label, a link or two); what a reader wants is what points at
it: observations with ``emk:refArea``, commitments with ``emk:beneficiary``, frameworks with
``emk:partner``, events and next steps that involve it. Each comes from one internal query with
the place bound by substitution.

Funding total: every commitment with the place as beneficiary counts once, except a part of a
package (``emk:partOfPackage``) whose package also benefits the place; the package already holds
the part's amount, so adding both would count it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pyoxigraph as ox
from markupsafe import Markup

from migration_kg.core.namespaces import EMK
from migration_kg.core.queries import internal_query
from migration_kg.serve.engine import QueryEngine
from migration_kg.web.rendering import Bar, TermFormatter, Value, bar_chart, format_number
from migration_kg.web.search import INTERNAL_ROW_CAP, INTERNAL_TIMEOUT_S

PLACE_TYPES = {str(EMK.Country), str(EMK.MigratoryRoute), str(EMK.Region)}
_CHART_BARS = 16


@dataclass(frozen=True)
class Observation:
    value: Value
    measure: Value | None
    unit: Value | None
    period: Value | None
    amount: str
    change: str


@dataclass(frozen=True)
class Commitment:
    value: Value
    amount: str
    package: Value | None  # set when not counted: the package that holds its amount
    shared: bool = False  # other beneficiaries share this amount (not split)


@dataclass(frozen=True)
class TimelineItem:
    value: Value
    when: str  # ISO date or period start, for sorting and <time>
    exact: bool  # an emk:date: show the day; otherwise show the period's label
    period: Value | None
    planned: bool
    meeting: bool


@dataclass
class PlaceView:
    statistics: list[Observation] = field(default_factory=list)
    chart: Markup = field(default_factory=lambda: Markup(""))
    commitments: list[Commitment] = field(default_factory=list)
    total: Decimal = Decimal(0)
    counted: int = 0
    total_alone: Decimal = Decimal(0)  # counted commitments no other beneficiary shares
    cooperation: list[tuple[Value, Value | None]] = field(default_factory=list)
    timeline: list[TimelineItem] = field(default_factory=list)

    @property
    def meetings(self) -> list[TimelineItem]:
        return [item for item in self.timeline if item.meeting]

    @property
    def next_steps(self) -> list[TimelineItem]:
        return [item for item in self.timeline if item.planned]


def place_view(engine: QueryEngine, iri: str, fmt: TermFormatter) -> PlaceView:
    """Gather the four sections of a country or route page."""
    view = PlaceView()
    _statistics(view, select_rows(engine, "place-statistics.rq", iri), fmt)
    _funding(view, select_rows(engine, "place-funding.rq", iri), fmt)
    for framework, kind in select_rows(engine, "place-cooperation.rq", iri):
        if framework is not None:
            view.cooperation.append((fmt.iri(framework), fmt.iri(kind) if kind else None))
    view.cooperation.sort(key=lambda pair: pair[0].text.casefold())
    _timeline(view, select_rows(engine, "place-events.rq", iri), fmt)
    return view


def select_rows(engine: QueryEngine, name: str, iri: str) -> list[tuple[str | None, ...]]:
    """Run the internal query ``name`` with ``?place`` bound to ``iri``."""
    result = engine.query(
        internal_query(name),
        bindings={"place": ox.NamedNode(iri)},
        timeout_s=INTERNAL_TIMEOUT_S,
        row_cap=INTERNAL_ROW_CAP,
    )
    # The bound variable must be projected for pyoxigraph's substitution; callers do not need it.
    return [row[:-1] for row in result.rows]


def _statistics(view: PlaceView, rows: list[tuple[str | None, ...]], fmt: TermFormatter) -> None:
    bars: list[Bar] = []
    units: dict[str | None, int] = {}
    for obs, _value, _measure, unit, *_ in rows:
        if obs is not None:
            units[unit] = units.get(unit, 0) + 1
    # One unit per chart: persons and percentages on one axis would mislead.
    main_unit = max(units, key=lambda u: units[u]) if units else None
    for obs, value, measure, unit, period, _start, change in rows:
        if obs is None or value is None:
            continue
        item = Observation(
            fmt.iri(obs),
            fmt.iri(measure) if measure else None,
            fmt.iri(unit) if unit else None,
            fmt.iri(period) if period else None,
            format_number(value),
            f"{format_number(change)} %" if change else "",
        )
        view.statistics.append(item)
        if unit == main_unit and len(bars) < _CHART_BARS:
            # "measure, period" tells bars apart where long observation labels would be cut.
            parts = [v.text for v in (item.measure, item.period) if v is not None]
            label = ", ".join(parts) if len(parts) == 2 else item.value.text
            bars.append(Bar(label, float(Decimal(value)), item.amount))
    unit_text = fmt.iri(main_unit).text if main_unit else "value"
    view.chart = bar_chart(bars, f"Statistics ({unit_text})")


def _funding(view: PlaceView, rows: list[tuple[str | None, ...]], fmt: TermFormatter) -> None:
    seen: set[str] = set()
    for commitment, amount, package, _counted, shared in rows:
        if commitment is None or commitment in seen:
            continue  # a part of two packages appears twice; it is one commitment
        seen.add(commitment)
        counted = package is None
        alone = shared != "true"
        if counted and amount is not None:
            view.total += Decimal(amount)
            view.counted += 1
            if alone:
                view.total_alone += Decimal(amount)
        view.commitments.append(
            Commitment(
                fmt.iri(commitment),
                f"EUR {format_number(amount)}" if amount else "",
                None if counted else fmt.iri(package or ""),
                not alone,
            )
        )


def _timeline(view: PlaceView, rows: list[tuple[str | None, ...]], fmt: TermFormatter) -> None:
    items: dict[str, TimelineItem] = {}
    for item, date, period, start, planned, meeting in rows:
        if item is None:
            continue
        when = date or start or ""
        known = items.get(item)
        if known is not None and known.when and (not when or known.when <= when):
            continue
        items[item] = timeline_item(item, date, period, start, planned, meeting, fmt)
    view.timeline = sorted(items.values(), key=lambda t: (t.when or "9999", t.value.text))


def timeline_item(
    item: str,
    date: str | None,
    period: str | None,
    start: str | None,
    planned: str | None,
    meeting: str | None,
    fmt: TermFormatter,
) -> TimelineItem:
    """One row of a timeline query as an item: its day if dated, else its period's start."""
    return TimelineItem(
        fmt.iri(item),
        date or start or "",
        date is not None,
        fmt.iri(period) if period else None,
        planned == "true",
        meeting == "true",
    )
