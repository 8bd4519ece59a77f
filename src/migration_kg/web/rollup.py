"""What a route or region page rolls up from its countries: partnerships, funding and a timeline.

A route or region names its countries with ``emk:includesCountry`` (a route through the
sub-properties for departure, transit and destination countries, which the build materialises as
``emk:includesCountry``), directly or through a sub-route (``emk:subRouteOf``). Little in the
report names a route itself; most of what concerns it names one of its countries. The page lists
that separately, labelled as concerning the countries, beside what names the place itself.

Funding total: the commitments whose beneficiary is the place or one of its countries, each counted
once however many of those countries it benefits (a package for Tunisia, Libya and Egypt is one
amount on the Central Mediterranean page, not three), and a part of a package not added when its
package is counted already. Amounts shared with beneficiaries outside the place are flagged, not
split: the report does not split them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from migration_kg.core.namespaces import EMK
from migration_kg.serve.engine import QueryEngine
from migration_kg.web.place import PlaceView, TimelineItem, select_rows, timeline_item
from migration_kg.web.rendering import TermFormatter, Value, format_number

_INCLUDES = str(EMK.includesCountry)


@dataclass(frozen=True)
class Member:
    country: Value
    roles: tuple[Value, ...]  # the most specific relations stated (empty: plain "includes")
    via: tuple[Value, ...]  # sub-routes that state it, when not the place itself


@dataclass(frozen=True)
class RolledCommitment:
    value: Value
    amount: str
    beneficiaries: tuple[Value, ...]  # the place or its countries
    package: Value | None  # set when not counted: the counted package that holds its amount
    shared: bool  # other beneficiaries, outside the place and its countries, share the amount


@dataclass(frozen=True)
class RolledItem:
    item: TimelineItem
    countries: tuple[Value, ...]


@dataclass
class RollupView:
    members: list[Member] = field(default_factory=list)
    cooperation: list[tuple[Value, Value | None, tuple[Value, ...]]] = field(default_factory=list)
    commitments: list[RolledCommitment] = field(default_factory=list)
    total: Decimal = Decimal(0)
    counted: int = 0
    timeline: list[RolledItem] = field(default_factory=list)


def rollup_view(
    engine: QueryEngine, iri: str, fmt: TermFormatter, own: PlaceView
) -> RollupView | None:
    """The roll-up of a route or region, or None when the graph names none of its countries."""
    members = _members(select_rows(engine, "place-members.rq", iri), iri, fmt)
    if not members:
        return None
    view = RollupView(members=members)
    listed = {framework.iri for framework, _ in own.cooperation}
    view.cooperation = _cooperation(select_rows(engine, "place-members-cooperation.rq", iri), fmt)
    view.cooperation = [c for c in view.cooperation if c[0].iri not in listed]
    scope = {iri} | {m.country.iri for m in members if m.country.iri}
    _funding(view, select_rows(engine, "place-members-funding.rq", iri), scope, fmt)
    own_items = {t.value.iri for t in own.timeline}
    rows = select_rows(engine, "place-members-events.rq", iri)
    view.timeline = [r for r in _timeline(rows, fmt) if r.item.value.iri not in own_items]
    return view


def _members(rows: list[tuple[str | None, ...]], iri: str, fmt: TermFormatter) -> list[Member]:
    roles: dict[str, set[str]] = {}
    via: dict[str, set[str]] = {}
    for country, role, route in rows:
        if country is None:
            continue
        roles.setdefault(country, set())
        if role and role != _INCLUDES:
            roles[country].add(role)
        if route and route != iri:
            via.setdefault(country, set()).add(route)
    members = [
        Member(fmt.iri(c), _values(roles[c], fmt), _values(via.get(c, ()), fmt)) for c in roles
    ]
    return sorted(members, key=lambda m: m.country.text.casefold())


def _cooperation(
    rows: list[tuple[str | None, ...]], fmt: TermFormatter
) -> list[tuple[Value, Value | None, tuple[Value, ...]]]:
    kinds: dict[str, str | None] = {}
    countries: dict[str, set[str]] = {}
    for framework, country, kind in rows:
        if framework is None or country is None:
            continue
        kinds[framework] = kinds.get(framework) or kind
        countries.setdefault(framework, set()).add(country)
    found = [
        (fmt.iri(f), fmt.iri(k) if (k := kinds[f]) else None, _values(countries[f], fmt))
        for f in countries
    ]
    return sorted(found, key=lambda entry: entry[0].text.casefold())


def _funding(
    view: RollupView, rows: list[tuple[str | None, ...]], scope: set[str], fmt: TermFormatter
) -> None:
    amounts: dict[str, str | None] = {}
    packages: dict[str, set[str]] = {}
    beneficiaries: dict[str, set[str]] = {}
    for commitment, amount, package, beneficiary in rows:
        if commitment is None or beneficiary is None:
            continue
        amounts[commitment] = amounts.get(commitment) or amount
        beneficiaries.setdefault(commitment, set()).add(beneficiary)
        packages.setdefault(commitment, set())
        if package:
            packages[commitment].add(package)
    # Every commitment found benefits the place or a country. A part is left out when its package
    # is found too and holds an amount; a package without an amount leaves its parts counted.
    in_scope = {c for c in beneficiaries if amounts[c] is not None}
    for commitment in sorted(beneficiaries, key=lambda c: (-Decimal(amounts[c] or 0), c)):
        holder = min((p for p in packages[commitment] if p in in_scope), default=None)
        amount = amounts[commitment]
        if holder is None and amount is not None:
            view.total += Decimal(amount)
            view.counted += 1
        view.commitments.append(
            RolledCommitment(
                fmt.iri(commitment),
                f"EUR {format_number(amount)}" if amount else "",
                _values(beneficiaries[commitment] & scope, fmt),
                fmt.iri(holder) if holder else None,
                bool(beneficiaries[commitment] - scope),
            )
        )


def _timeline(rows: list[tuple[str | None, ...]], fmt: TermFormatter) -> list[RolledItem]:
    items: dict[str, TimelineItem] = {}
    countries: dict[str, set[str]] = {}
    for item, date, period, start, planned, meeting, country in rows:
        if item is None:
            continue
        if country:
            countries.setdefault(item, set()).add(country)
        candidate = timeline_item(item, date, period, start, planned, meeting, fmt)
        known = items.get(item)
        if known is None or (candidate.when and (not known.when or candidate.when < known.when)):
            items[item] = candidate
    ordered = sorted(items.values(), key=lambda t: (t.when or "9999", t.value.text))
    return [RolledItem(t, _values(countries.get(t.value.iri or "", ()), fmt)) for t in ordered]


def _values(iris: Iterable[str], fmt: TermFormatter) -> tuple[Value, ...]:
    return tuple(sorted((fmt.iri(i) for i in iris), key=lambda v: v.text.casefold()))
