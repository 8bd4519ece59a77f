"""Content negotiation: pick one offered format from an Accept header or a ``format=`` override.

Pure functions over strings and the format enums (no Starlette), so every rule is unit-testable.
RFC 9110 rules: the most specific matching media range gives a format its q-value, q=0 means
"not this", the highest q wins and ties go to the server's order (its preferred format first).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from migration_kg.core.errors import BadRequest, NotAcceptable
from migration_kg.core.formats import RdfFormat, ResultFormat

Format = TypeVar("Format", bound=ResultFormat | RdfFormat)
# Browsers send ~100 characters and RDF clients ~300; thousands of ranges mean something else.
MAX_ACCEPT_CHARS = 4096
_SHOWN = 200

# Media types clients commonly send for a format besides its canonical one.
ACCEPT_ALIASES: dict[ResultFormat | RdfFormat, tuple[str, ...]] = {
    ResultFormat.JSON: ("application/json",),
    ResultFormat.XML: ("application/xml", "text/xml"),
    ResultFormat.CSV: (),
    ResultFormat.TSV: (),
    RdfFormat.TURTLE: ("application/x-turtle",),
    RdfFormat.NTRIPLES: (),
    RdfFormat.JSONLD: ("application/json", "application/x-json+ld"),
    RdfFormat.RDFXML: ("application/xml", "text/xml"),
    RdfFormat.TRIG: ("application/x-trig",),
    RdfFormat.NQUADS: ("text/x-nquads",),
}
# Names accepted by ``format=`` besides media types; "json" and "xml" depend on the family.
FORMAT_NAMES: dict[ResultFormat | RdfFormat, tuple[str, ...]] = {
    ResultFormat.JSON: ("json", "srj"),
    ResultFormat.XML: ("xml", "srx"),
    ResultFormat.CSV: ("csv",),
    ResultFormat.TSV: ("tsv",),
    RdfFormat.TURTLE: ("turtle", "ttl"),
    RdfFormat.NTRIPLES: ("ntriples", "n-triples", "nt"),
    RdfFormat.JSONLD: ("jsonld", "json-ld", "json"),
    RdfFormat.RDFXML: ("rdfxml", "rdf+xml", "rdf", "xml"),
    RdfFormat.TRIG: ("trig",),
    RdfFormat.NQUADS: ("nquads", "n-quads", "nq"),
}


@dataclass(frozen=True)
class MediaRange:
    """One entry of an Accept header."""

    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """-1 if this range does not match ``media_type``; else 0 (*/*), 1 (type/*), 2 (exact)."""
        main, _, sub = media_type.partition("/")
        if self.type == "*":
            return 0 if self.subtype == "*" else -1
        if self.type != main:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else -1


def parse_accept(header: str) -> list[MediaRange]:
    """Parse an Accept header; malformed entries are skipped (they cannot match anything).

    Raises:
        BadRequest: a header over ``MAX_ACCEPT_CHARS`` (``check_accept``).
    """
    check_accept(header)
    ranges = []
    for entry in header.split(","):
        media, *params = (part.strip() for part in entry.split(";"))
        main, slash, sub = media.lower().partition("/")
        if not slash or not main or not sub or (main == "*" and sub != "*"):
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append(MediaRange(main, sub, q))
    return ranges


def check_accept(header: str | None) -> None:
    """Refuse an Accept header over ``MAX_ACCEPT_CHARS`` (before anything is evaluated).

    Raises:
        BadRequest: naming the header, the limit and the header's length.
    """
    if header is not None and len(header) > MAX_ACCEPT_CHARS:
        raise BadRequest(
            f"Accept header longer than {MAX_ACCEPT_CHARS} characters ({len(header)})", "Accept"
        )


def media_types(fmt: ResultFormat | RdfFormat) -> tuple[str, ...]:
    """The canonical media type of ``fmt`` followed by its aliases."""
    return (fmt.media_type, *ACCEPT_ALIASES[fmt])


def quality(ranges: Sequence[MediaRange], fmt: ResultFormat | RdfFormat) -> float:
    """The q-value the client gives ``fmt``: from its most specific matching range, else 0."""
    best_spec, best_q = -1, 0.0
    for index, media_type in enumerate(media_types(fmt)):
        for media_range in ranges:
            spec = media_range.specificity(media_type)
            if index > 0 and spec < 2:
                continue  # aliases match only when named: text/* means CSV/TSV, not text/xml
            if spec > best_spec or (spec == best_spec and media_range.q > best_q):
                best_spec, best_q = spec, media_range.q
    return best_q if best_spec >= 0 else 0.0


def negotiate(
    accept: str | None, format_values: Sequence[str], offered: Sequence[Format]
) -> Format:
    """Choose the response format; ``format=`` values (names or media types) override Accept.

    Several ``format`` values are accepted only when they all name the same format: SPARQLWrapper
    sends e.g. ``format=tsv&format=text/tab-separated-values``.

    Raises:
        NotAcceptable: nothing offered is acceptable; the message lists what is offered.
        BadRequest: ``format`` values that name different formats.
    """
    if format_values:  # rare, and of any size: not remembered
        return _negotiate(accept, tuple(format_values), tuple(offered))
    chosen: Format = _negotiate_memo(accept, (), tuple(offered))
    return chosen


def _negotiate(
    accept: str | None, format_values: tuple[str, ...], offered: tuple[Format, ...]
) -> Format:
    if format_values:
        chosen = {_by_name(value, offered) for value in format_values}
        if len(chosen) > 1:
            raise BadRequest(f"conflicting format parameters: {', '.join(format_values)}", "format")
        return chosen.pop()
    if accept is None or not accept.strip():
        return offered[0]
    ranges = parse_accept(accept)
    best, best_q = offered[0], 0.0
    for fmt in offered:
        q = quality(ranges, fmt)
        if q > best_q:
            best, best_q = fmt, q
    if best_q <= 0.0:
        raise _not_acceptable(f"no offered format matches Accept: {_shown(accept)}", offered)
    return best


def _by_name(value: str, offered: Sequence[Format]) -> Format:
    """Resolve one ``format`` value; a comma-separated list (SPARQLWrapper) means "any of these"."""
    for alternative in value.split(","):
        wanted = alternative.strip().lower()
        for fmt in offered:
            if wanted in FORMAT_NAMES[fmt] or wanted in media_types(fmt):
                return fmt
    raise _not_acceptable(f"format={_shown(value)!r} is not offered here", offered)


def _shown(value: str) -> str:
    """A client's value as echoed in an error: at most ``_SHOWN`` characters of it."""
    return value if len(value) <= _SHOWN else value[:_SHOWN] + "…"


def _not_acceptable(reason: str, offered: Sequence[ResultFormat | RdfFormat]) -> NotAcceptable:
    listing = tuple(f.media_type for f in offered)
    names = ", ".join(FORMAT_NAMES[f][0] for f in offered)
    return NotAcceptable(f"{reason}; offered: {', '.join(listing)} (format= {names})", listing)


HTML_MEDIA_TYPES = ("text/html", "application/xhtml+xml")


def prefers_html(
    accept: str | None, format_values: Sequence[str], offered: Sequence[ResultFormat | RdfFormat]
) -> bool:
    """Whether a page for people should answer rather than one of ``offered`` (linked data pages).

    ``format=html`` forces it; otherwise HTML wins only when the client names ``text/html`` (or
    XHTML) explicitly with a q at least that of the best offered format: browsers do, while
    ``*/*`` (curl, most RDF clients) and a missing Accept get data, the linked-data default.
    """
    if format_values:
        return all(value.strip().lower() in ("html", *HTML_MEDIA_TYPES) for value in format_values)
    if not accept:
        return False
    ranges = parse_accept(accept)
    html_q = max(
        (r.q for r in ranges for m in HTML_MEDIA_TYPES if r.specificity(m) == 2), default=0.0
    )
    if html_q <= 0.0:
        return False
    return html_q >= max((quality(ranges, fmt) for fmt in offered), default=0.0)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored on both sides; ``*`` matches."""
    if not if_none_match or not etag:
        return False
    wanted = etag.removeprefix("W/")
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return any(tag in ("*", wanted) for tag in tags)


# Clients send a handful of distinct Accept headers (each at most MAX_ACCEPT_CHARS): parsing and
# matching one costs more than the rest of a cheap lookup's negotiation, so the outcome of the
# last 256 is kept; refusals (NotAcceptable, BadRequest) are not remembered, only raised.
_negotiate_memo = functools.lru_cache(maxsize=256)(_negotiate)
