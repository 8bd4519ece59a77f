"""SPARQL text as the query checks see it: strings, IRIs, comments, brackets and runs of code.

A lexer shared by ``intake`` (nesting, depth, group size) and ``query_scan`` (form, SERVICE,
FROM). It recognises strings, IRIs and comments as SPARQL's grammar does, so that a bracket or
keyword inside them is not taken for code, and everything else as runs of plain code that the
checks count in bulk. Every pattern is linear: no nested quantifier can backtrack, and an
unterminated string is searched for its end once (``read_string``).
"""

from __future__ import annotations

import re

# Texts up to MEMO_CHARS are remembered by the checks (the last MEMO_ENTRIES of them): a
# public endpoint sees the same short queries again and again (its pages', its catalogue's, a
# client's), and lexing one costs tens of microseconds of Python per request; at most ~4 MB.
MEMO_CHARS = 4096
MEMO_ENTRIES = 1024

_IRI_CHARS = r"[^<>\"{}|^`\\\x00-\x20]"
# A run of plain code: words, operators, commas, spaces, and the terms ``()`` and ``[]``.
_PLAIN = r"(?:[^{}()\[\]<>\"'#\\]|\(\)|\[\])"
LEXER = re.compile(
    rf"""
    (?P<skip>\s+|\#[^\r\n]*)
  | (?P<run>{_PLAIN}+(?:\\.{_PLAIN}*)*|(?:\\.{_PLAIN}*)+)
  | (?P<iri><{_IRI_CHARS}*(?:\\u[0-9A-Fa-f]{{4}}{_IRI_CHARS}*|\\U[0-9A-Fa-f]{{8}}{_IRI_CHARS}*)*>)
  | (?P<quote>['"])
  | (?P<open>[{{(\[]|<<)
  | (?P<close>[}})\]]|>>)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# A string's rest after its opening quote(s), closing quote(s) included (unrolled: linear).
_STRING_END = {
    "'": re.compile(r"[^'\\\r\n]*(?:\\.[^'\\\r\n]*)*'", re.DOTALL),
    '"': re.compile(r'[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"', re.DOTALL),
    "'''": re.compile(r"[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''", re.DOTALL),
    '"""': re.compile(r'[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""', re.DOTALL),
}
_LINE_END = re.compile(r"[\r\n]")
# The tokens of a run: variables, words (names, numbers, keywords, escapes), single symbols.
RUN_TOKEN = re.compile(r"[?$]\w+|(?:[\w:%]|\\.)+|\(\)|\[\]|\S", re.DOTALL)
KEYWORD = re.compile(r"(?<![\w:%?$])(?:VALUES|PREFIX|BASE)(?![\w:%])", re.IGNORECASE)
# Inside an IRI that the parser may read as code: brackets, commas, words, single characters.
IRI_AS_CODE = re.compile(
    r"(?P<open>[{(\[])|(?P<close>[})\]])|(?P<comma>,)|(?P<run>[\w:%]+)|(?P<other>.)"
)


def read_string(
    text: str, start: int, unclosed: dict[str, int]
) -> tuple[list[tuple[int, int]], int]:
    """The string literal(s) that the quote at ``start`` opens, and where lexing resumes.

    As SPARQL's lexer reads them: a long string (three quotes) when it is closed, otherwise the
    empty string ``''`` and a short string from the third quote. A short string left open at
    the end of its line makes the parser fail there (or, had it read an earlier ``#`` as a
    comment, go on at the next line): no span, and lexing resumes on the next line. Once a long
    string found no end, no later one can: ``unclosed`` (one per text) remembers where, so that
    the search is not repeated and lexing stays linear.
    """
    quote, spans = text[start], []
    if text.startswith(quote * 3, start):
        if unclosed.get(quote, len(text)) > start:
            closed = _STRING_END[quote * 3].match(text, start + 3)
            if closed is not None:
                return [(start, closed.end())], closed.end()
            unclosed[quote] = start
        spans.append((start, start + 2))
        start += 2
    closed = _STRING_END[quote].match(text, start + 1)
    if closed is not None:
        spans.append((start, closed.end()))
        return spans, closed.end()
    line_end = _LINE_END.search(text, start + 1)
    return spans, len(text) if line_end is None else line_end.end()


def token_kind(token: str) -> str:
    """``word`` for names, variables, numbers, keywords, ``()`` and ``[]`` (they end a term),
    ``comma``, or ``other``."""
    first = token[0]
    if first == ",":
        return "comma"
    if first.isalnum() or first in "_:%\\" or len(token) > 1:
        return "word"
    return "other"
