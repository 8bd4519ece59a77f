"""A lexical scan of SPARQL text: the engine's safety checks before pyoxigraph evaluates anything.

pyoxigraph's Python API exposes no parsed algebra, and it will happily follow ``SERVICE`` over
HTTP, so the engine needs its own view of three facts: is this an update, which SERVICE targets
does it name, and does it carry its own FROM clause. Tokenising (strings, IRIs, comments,
variables and prefixed names recognised as SPARQL's lexer does) makes keywords inside literals,
IRIs, comments or names like ``?service`` or ``ex:from`` harmless. Anything the scan cannot
resolve (``SERVICE ?var``, an undeclared prefix) is reported as an unresolvable target, so that
the engine refuses it rather than guesses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from migration_kg.serve.query_lexer import MEMO_CHARS, MEMO_ENTRIES, read_string

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*(?:\\u[0-9A-Fa-f]{4}[^<>"{}|^`\\\x00-\x20]*
        |\\U[0-9A-Fa-f]{8}[^<>"{}|^`\\\x00-\x20]*)*>)
  | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<var>[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]+)
  | (?P<pname>(?:[^\W\d][\w.-]*)?:(?:[\w:%-]|\\[_~.\-!$&'()*+,;=/?\#@%]|\.(?=[\w:%\\-]))*)
  | (?P<word>[^\W\d]\w*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)
QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
UNRESOLVED = "(a SERVICE target that is not a fixed IRI)"


@dataclass(frozen=True)
class QueryScan:
    """What the engine needs to know about a query before running it."""

    form: str | None  # SELECT, ASK, CONSTRUCT, DESCRIBE, an update keyword, or None
    services: tuple[str, ...] = ()
    has_from: bool = False
    prefixes: dict[str, str] = field(default_factory=dict)

    @property
    def is_update(self) -> bool:
        return self.form in UPDATE_KEYWORDS


@dataclass(frozen=True)
class Token:
    """One lexical token of SPARQL text and where it stands (for rewriting, see sparql_rewrite)."""

    kind: str  # iri, string, langtag, var, pname, word or other
    text: str
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """The tokens of ``text`` without whitespace and comments, with their offsets.

    Strings are read by ``read_string``, in linear time. (A regular expression for strings
    rescanned the rest of the line at every quote of an unterminated one: a 100 kB line of
    ``\\'`` took four minutes.)
    """
    out: list[Token] = []
    pos, end = 0, len(text)
    unclosed: dict[str, int] = {}
    while pos < end:
        if text[pos] in "'\"":
            spans, pos = read_string(text, pos, unclosed)
            out += [Token("string", text[a:b], a, b) for a, b in spans]
            continue
        match = _TOKEN.match(text, pos)
        assert match is not None  # ``other`` matches any character
        pos = match.end()
        kind = match.lastgroup or "other"
        if kind not in ("ws", "comment"):
            out.append(Token(kind, match.group(), match.start(), match.end()))
    return out


def _tokens(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokens(text)]


def iri_text(token: str) -> str:
    """The IRI inside ``<…>`` with UCHAR escapes decoded (allowlist matching compares these)."""
    return _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), token[1:-1])


def scan_query(text: str) -> QueryScan:
    """Scan SPARQL text for its form, SERVICE targets and FROM clauses (never raises)."""
    return _scan_memo(text) if len(text) <= MEMO_CHARS else _scan(text)


def _scan(text: str) -> QueryScan:
    tokens = _tokens(text)
    base, prefixes = "", {}
    form: str | None = None
    services: list[str] = []
    has_from = False
    for i, (kind, value) in enumerate(tokens):
        if kind != "word":
            continue
        word = value.upper()
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if word == "BASE" and nxt[0] == "iri":
            base = _join(base, iri_text(nxt[1])) or base
        elif word == "PREFIX" and nxt[0] == "pname" and i + 2 < len(tokens):
            if tokens[i + 2][0] == "iri":
                resolved = _join(base, iri_text(tokens[i + 2][1]))
                if resolved is not None:  # else the prefix stays unknown: SERVICE is refused
                    prefixes[nxt[1][:-1]] = resolved
        elif form is None and (word in QUERY_FORMS or word in UPDATE_KEYWORDS):
            form = word
        if word == "FROM":
            has_from = True
        elif word == "SERVICE":
            services.append(_service_target(tokens[i + 1 : i + 3], base, prefixes))
    return QueryScan(form, tuple(services), has_from, prefixes)


def _join(base: str, iri: str) -> str | None:
    """``iri`` resolved against ``base``; None when urllib cannot parse it (``http://a[b``
    raised ValueError: a 500 found by the edge fuzz). pyoxigraph refuses such IRIs too."""
    try:
        return urljoin(base, iri)
    except ValueError:
        return None


def _service_target(following: list[tuple[str, str]], base: str, prefixes: dict[str, str]) -> str:
    """Resolve the IRI after SERVICE [SILENT]; anything else counts as unresolvable."""
    if following and following[0][0] == "word" and following[0][1].upper() == "SILENT":
        following = following[1:]
    if not following:
        return UNRESOLVED
    kind, value = following[0]
    if kind == "iri":
        return _join(base, iri_text(value)) or UNRESOLVED
    if kind == "pname":
        prefix, _, local = value.partition(":")
        if prefix in prefixes and "\\" not in local and "%" not in local:
            return prefixes[prefix] + local
    return UNRESOLVED


_scan_memo = functools.lru_cache(maxsize=MEMO_ENTRIES)(_scan)
