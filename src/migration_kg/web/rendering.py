"""Rendering helpers for the HTML pages: IRI → link, RDF term → display value, SVG chart, Jinja.

Pure functions and small classes over pyoxigraph terms (no request, no engine), so every rule of
how a value looks to a person (EUR with thousands separators, dates as dates, names instead of
IRIs) is decided here once and unit-testable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from html import escape

import pyoxigraph as ox
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from migration_kg.core.namespaces import compact_iri
from migration_kg.web.search import LabelMap

XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "int", "long")}
SCHEMA_VALUE = "https://schema.org/value"
SCHEMA_CURRENCY = "https://schema.org/currency"
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


@dataclass(frozen=True)
class Linker:
    """Maps project IRIs to this server's URLs (``base_iri`` → ``root``/) and back."""

    base_iri: str
    root: str = ""  # the ASGI root_path: where the app is mounted

    def href(self, iri: str) -> str | None:
        """The local URL of a project IRI (``/id/…``, ``/ontology#Term``); None for others."""
        if not iri.startswith(self.base_iri):
            return None
        return f"{self.root}/{iri[len(self.base_iri) :]}"

    def url(self, path: str) -> str:
        """A site path (``/search``) under the mount point."""
        return self.root + path


@dataclass(frozen=True)
class Value:
    """A term as a person sees it: text, maybe a link, maybe a machine-readable form."""

    text: str
    href: str | None = None
    iri: str | None = None
    machine: str | None = None  # ISO date for <time datetime="…">
    external: bool = False


def format_number(lexical: str) -> str:
    """Thousands separators; decimals keep their fraction (``-59.0`` → ``-59``, 1.5 stays)."""
    try:
        number = Decimal(lexical)
    except InvalidOperation:
        return lexical
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,}"


def format_eur(amount: Decimal | float | int | str) -> str:
    """``EUR 1,200,000,000`` (the report's currency; full value, never rounded)."""
    return "EUR " + format_number(str(amount))


def format_date(lexical: str) -> str:
    """``2025-02-13`` → ``13 February 2025``; anything unparsable is shown as written."""
    try:
        day = dt.date.fromisoformat(lexical)
    except ValueError:
        return lexical
    return f"{day.day} {day:%B %Y}"


class TermFormatter:
    """Turns RDF terms into ``Value``s using the app's labels and the request's linker."""

    def __init__(self, labels: LabelMap, linker: Linker) -> None:
        self.labels = labels
        self.linker = linker

    def iri(self, iri: str) -> Value:
        href = self.linker.href(iri)
        text = self.labels.get(iri) or compact_iri(iri)
        return Value(text, href or iri, iri, external=href is None)

    def term(self, term: OxTerm) -> Value:
        if isinstance(term, ox.NamedNode):
            return self.iri(term.value)
        if isinstance(term, ox.Literal):
            return self.literal(term)
        return Value(str(term))

    def literal(self, literal: ox.Literal) -> Value:
        datatype = literal.datatype.value
        if datatype == XSD + "date":
            return Value(format_date(literal.value), machine=literal.value)
        if datatype in _NUMERIC:
            return Value(format_number(literal.value))
        return Value(literal.value)

    def amount(self, properties: dict[str, list[OxTerm]]) -> Value | None:
        """A schema:MonetaryAmount blank node as ``EUR 325,000,000``; None if it is not one."""
        values, currencies = properties.get(SCHEMA_VALUE), properties.get(SCHEMA_CURRENCY)
        if not values or not isinstance(values[0], ox.Literal):
            return None
        currency = (
            currencies[0].value if currencies and isinstance(currencies[0], ox.Literal) else ""
        )
        return Value(f"{currency} {format_number(values[0].value)}".strip())


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str


def bar_chart(bars: list[Bar], title: str) -> Markup:
    """A horizontal bar chart as inline SVG (server-rendered: no script, readable by AT).

    The SVG has role="img" and a <title>, and each bar carries its value as text, so the chart
    adds nothing a screen reader would miss from the table beside it.
    """
    if not bars:
        return Markup("")
    width, label_w, row_h, value_w = 640, 260, 22, 90
    top = max((b.value for b in bars), default=0.0) or 1.0
    height = row_h * len(bars) + 8
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart-title" viewBox="0 0 {width} '
        f'{height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    span = width - label_w - value_w
    for index, bar in enumerate(bars):
        y = 4 + index * row_h
        length = max(1.0, span * max(bar.value, 0.0) / top)
        label = bar.label if len(bar.label) <= 42 else bar.label[:41] + "…"
        parts += [
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" rx="2"/>',
            f'<text x="{label_w + length + 4:.1f}" y="{y + 15}">{escape(bar.text)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def make_environment() -> Environment:
    """The app's Jinja environment: templates from the package, autoescaped, strict undefined."""
    env = Environment(
        loader=PackageLoader("migration_kg.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["eur"] = format_eur
    env.filters["number"] = format_number
    env.filters["date"] = format_date
    return env
