"""Query intake: the size and shape of a query's text, bounded before any parser sees it.

pyoxigraph parses, optimises and evaluates a query with recursive Rust code on the thread that
calls ``Store.query``: every nested bracket, and every element of a chain (the operands of
``1 + 1 + …``, UNION branches, OPTIONALs after one another, path steps, the items of an RDF
collection) is one more level of recursion in the parser (spargebra), the optimiser (sparopt)
or the evaluator (spareval). A stack overflow in Rust is not an exception: it kills the process.
So the engine runs ``check_query`` before pyoxigraph sees a query, and evaluates on threads whose
stack (``evaluation_stack_bytes``) holds the deepest query the limits admit; the tests prove
both halves at the limit and one past it, and ``bench/intake_stack.py`` measures the stack.

``check_query`` is one pass of a regular-expression lexer with an explicit stack (no recursion
of its own, linear time) that stops at the first token over a limit. It measures:

* **nesting**: brackets ``{ ( [ <<`` inside one another;
* **depth**: an upper bound on the depth of the tree the engine builds. A bracket level counts
  one, plus the tokens and bracketed groups directly inside it, plus its deepest child: a chain
  of n elements is a left-deep tree n levels deep, and counting every token over-estimates it
  (a triple pattern's three terms make one join) but never under-estimates it. Contexts that
  pyoxigraph handles flat do not count: VALUES data blocks, comma-separated argument and ``IN``
  lists (their longest item counts), PREFIX and BASE declarations.

The lexer must never hide a bracket or an operator that the parser sees: strings and comments
are recognised as SPARQL does, and ``<…>`` is an IRI except inside parentheses after a term,
where the parser may read ``<`` as less-than: there its inside is counted as code as well.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from migration_kg.core.errors import BadRequest, ConfigError
from migration_kg.core.settings import Settings
from migration_kg.serve.query_lexer import (
    IRI_AS_CODE,
    KEYWORD,
    LEXER,
    MEMO_CHARS,
    MEMO_ENTRIES,
    RUN_TOKEN,
    read_string,
    token_kind,
)

# Measured by bench/intake_stack.py (pyoxigraph 0.5.13, x86-64, 37 recursive constructs at
# their largest admitted size): at most 6.4 KB of stack per depth level (an RDF collection's
# items), 3.4 KB for joined groups, 3.3 KB for DESCRIBE lists and projections; the costliest
# query the default limits admit (DESCRIBE of 255 IRIs) needs 826 KiB. 16 KiB a level is 2.5
# times the worst slope, and the base covers the Python and pyo3 frames beneath the query: a
# margin of 9.9x at the defaults.
STACK_BYTES_PER_LEVEL = 16 * 1024
STACK_BASE_BYTES = 4 * 1024 * 1024

DEFAULT_MAX_LENGTH = 100_000
DEFAULT_MAX_NESTING = 64
DEFAULT_MAX_DEPTH = 256
DEFAULT_MAX_PATTERNS = 48
# pyoxigraph's parser backtracks twice over what follows each ``!(`` when a syntax error lies
# beneath it: 2^k. Measured: 8 nested take 5 ms to fail, 12 take 0.1-0.3 s, 16 take 1.4 s,
# and 62 (admitted by the nesting limit) would run for years on an uninterruptible thread.
DEFAULT_MAX_NEGATIONS = 8
# Settings above these would ask for an unreasonable stack (and admit plans that take minutes).
CEILING_NESTING = 1_000
CEILING_DEPTH = 4_000


def evaluation_stack_bytes(max_depth: int = DEFAULT_MAX_DEPTH) -> int:
    """The thread stack that parses, plans and evaluates any query of ``max_depth`` levels."""
    return STACK_BASE_BYTES + STACK_BYTES_PER_LEVEL * max_depth


# The stack for the default limits (the engine derives its own from its settings).
EVALUATION_STACK_BYTES = evaluation_stack_bytes(DEFAULT_MAX_DEPTH)

# A term just before ``<`` makes it a possible less-than (a comparison) inside parentheses.
_TERM_END = frozenset({"word", "string", "iri", "close"})


@dataclass(frozen=True)
class QueryLimits:
    """The bounds a query's text must stay within (``Settings`` carries the configured ones)."""

    max_length: int = DEFAULT_MAX_LENGTH
    max_nesting: int = DEFAULT_MAX_NESTING
    max_depth: int = DEFAULT_MAX_DEPTH
    max_patterns: int = DEFAULT_MAX_PATTERNS
    max_negations: int = DEFAULT_MAX_NEGATIONS

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        """The configured limits, checked against the ceilings the stack is sized for.

        Raises:
            ConfigError: a limit below 1 or above its ceiling, naming its variable.
        """
        limits = cls(
            settings.max_query_length,
            settings.max_query_nesting,
            settings.max_query_depth,
            settings.max_query_patterns,
            settings.max_query_negations,
        )
        for name, value, ceiling in (
            ("EMK_MAX_QUERY_LENGTH", limits.max_length, None),
            ("EMK_MAX_QUERY_PATTERNS", limits.max_patterns, None),
            ("EMK_MAX_QUERY_NEGATIONS", limits.max_negations, None),
            ("EMK_MAX_QUERY_NESTING", limits.max_nesting, CEILING_NESTING),
            ("EMK_MAX_QUERY_DEPTH", limits.max_depth, CEILING_DEPTH),
        ):
            if value < 1 or (ceiling is not None and value > ceiling):
                bound = f"between 1 and {ceiling}" if ceiling else "at least 1"
                raise ConfigError(f"{name}={value}: must be {bound}")
        return limits

    @property
    def stack_bytes(self) -> int:
        """The evaluation stack these limits need (``evaluation_stack_bytes``)."""
        return evaluation_stack_bytes(self.max_depth)


@dataclass(frozen=True)
class QueryShape:
    """What ``measure_query`` found: the largest nesting and depth anywhere in the text."""

    length: int
    nesting: int
    depth: int
    patterns: int  # the most triple patterns and joined groups in one group
    negations: int  # the most brackets opened after ``!`` inside one another


class QueryTooLarge(BadRequest):
    """A query over an intake limit; the message names the limit, its value and its setting."""

    def __init__(self, message: str, limit: str) -> None:
        self.limit = limit  # "length", "nesting" or "depth"
        super().__init__(message, "query")


@dataclass
class _Level:
    """One open bracket: what it holds so far and how deep its children went."""

    bracket: str
    base: int  # the depth of the levels around this one, counted so far
    count: int = 0  # elements of the current comma segment (all of them, outside parentheses)
    widest: int = 0  # the longest finished comma segment (parentheses only)
    child: int = 0  # the deepest closed child
    flat: bool = False  # a VALUES data block or inside one: nothing chains
    group: _Level | None = None  # the { … } whose triple patterns this level adds to, if any
    negations: int = 0  # brackets around this one (and it) opened right after a ``!``
    patterns: int = 0  # triple patterns and joined groups so far ({ … } levels only)

    def depth(self) -> int:
        """This level's depth bound so far: itself, its longest chain, its deepest child."""
        return 1 + max(self.count, self.widest) + self.child


class _Meter:
    """The running nesting and depth of one text; raises at the first token over a limit."""

    def __init__(self, text: str, limits: QueryLimits | None) -> None:
        self.text, self.limits = text, limits
        self.stack = [_Level("", base=-1)]  # the top level, outside every bracket
        self.nesting = self.depth = self.patterns = self.negations = 0
        self.previous = ""  # the kind of the last significant token
        self.previous_word = self.before_previous = ""  # its text, and the one's before
        self.skip = 0  # tokens of a PREFIX or BASE declaration still to come (never counted)
        self.values = ""  # progress through ``VALUES ?x {`` or ``VALUES ( ?x ?y ) {``

    def run(self) -> None:
        """Lex the whole text; runs of plain code are counted in bulk, strings passed over."""
        text, pos, end = self.text, 0, len(self.text)
        unclosed: dict[str, int] = {}  # long-string quote → an offset after which none closes
        while pos < end:
            match = LEXER.match(text, pos)
            assert match is not None  # ``other`` matches any character
            kind, value, pos = match.lastgroup or "other", match.group(), match.end()
            if kind == "skip":
                continue
            if kind == "run":
                self._run(value, match.start())
            elif kind == "iri" and self._maybe_comparison():
                self._iri_as_code(value, match.start())
            elif kind == "iri" and not (self.values or self.skip):
                self._count(match.start(), value)  # the common case, kept short
                self.previous, self.before_previous, self.previous_word = "iri", "", value
            elif kind == "quote":
                spans, pos = read_string(text, match.start(), unclosed)
                for span_start, _ in spans:
                    self.token("string", value, span_start)
            else:
                self.token(kind, value, match.start())

    def _run(self, run: str, start: int) -> None:
        """Plain code: counted in bulk, unless a declaration, a VALUES clause or a limit needs
        each token looked at."""
        level = self.stack[-1]
        if run == "," and level.bracket == "(":  # between the items of a list
            level.widest, level.count = max(level.widest, level.count), 0
            self.previous, self.before_previous, self.previous_word = "comma", "", ","
            return
        if self.skip or self.values or KEYWORD.search(run):
            self._tokens(run, start)
            return
        tokens = RUN_TOKEN.findall(run)
        if not tokens:
            return
        self.previous, self.previous_word = token_kind(tokens[-1]), tokens[-1]
        self.before_previous = tokens[-2] if len(tokens) > 1 else ""
        if level.flat:
            return
        count, widest = level.count + len(tokens), level.widest
        if level.bracket == "(" and "," in run:  # an argument list: its longest item counts
            counts = [len(RUN_TOKEN.findall(part)) for part in run.split(",")]
            widest = max(widest, level.count + counts[0], *counts[1:-1])
            count = counts[-1]
        patterns = 0
        if level.group is not None:  # separators of triples, or items of a collection or path
            separators = run.count(".") + run.count(";") + run.count(",")
            patterns = len(tokens) if level.bracket in "(<<" else separators
        limits = self.limits
        if limits is not None and (
            level.base + 1 + max(count, widest) + level.child > limits.max_depth
            or (level.group is not None and level.group.patterns + patterns > limits.max_patterns)
        ):
            self._tokens(run, start)  # over a limit somewhere in this run: find the token
            return
        level.count, level.widest = count, widest
        self._check_depth(level, start)
        if level.group is not None:
            self._add_patterns(level.group, patterns, start)

    def _tokens(self, run: str, start: int) -> None:
        for token in RUN_TOKEN.finditer(run):
            self.token(token_kind(token.group()), token.group(), start + token.start())

    def _maybe_comparison(self) -> bool:
        return self.stack[-1].bracket == "(" and self.previous in _TERM_END

    def _iri_as_code(self, iri: str, start: int) -> None:
        """``?a<(1+1)&&?b>0`` is a comparison to the parser: count ``<…>``'s inside as code."""
        self.token("other", "<", start)
        for inner in IRI_AS_CODE.finditer(iri, 1, len(iri) - 1):
            kind = inner.lastgroup or "other"
            self.token("word" if kind == "run" else kind, inner.group(), start + inner.start())
        self.token("other", ">", start + len(iri) - 1)

    def token(self, kind: str, value: str, at: int) -> None:
        """Account for one token starting at offset ``at`` of the text."""
        opens_data = self._follow_values(kind, value)
        if kind == "open":
            self._open(value, at, opens_data)
        elif kind == "close":
            self._close(at)
        elif kind == "comma" and self.stack[-1].bracket == "(":
            level = self.stack[-1]
            level.widest, level.count = max(level.widest, level.count), 0
        elif self.skip:
            self.skip -= 1
        elif kind == "word" and value.upper() in ("PREFIX", "BASE"):
            self.skip = 2 if value.upper() == "PREFIX" else 1
        else:
            self._count(at, value)
        self.before_previous, self.previous_word = self.previous_word, value
        self.previous = kind

    def _follow_values(self, kind: str, value: str) -> bool:
        """Follow ``VALUES ?x {`` or ``VALUES ( ?x ?y ) {``; True for the data block's ``{``."""
        state, variable = self.values, kind == "word" and value[0] in "?$"
        self.values = ""
        if kind == "word" and value.upper() == "VALUES":
            self.values = "start"
        elif state == "start" and variable:
            self.values = "data"
        elif (state == "start" and value == "(") or (state == "vars" and variable):
            self.values = "vars"
        elif state == "vars" and value == ")":
            self.values = "data"
        return state == "data" and value == "{"

    def _count(self, at: int, value: str) -> None:
        level = self.stack[-1]
        if level.flat:
            return
        level.count += 1
        self._check_depth(level, at)
        if level.group is not None and (level.bracket in "(<<" or value in ".;,"):
            self._add_patterns(level.group, 1, at)

    def _open(self, bracket: str, at: int, opens_data: bool) -> None:
        parent = self.stack[-1]
        if not parent.flat:
            parent.count += 1  # the bracketed group is one element of the parent's chain
        base = parent.base + 1 + max(parent.count, parent.widest)
        level = _Level(bracket, base, flat=parent.flat or opens_data)
        level.negations = parent.negations + self._negated()
        self.negations = max(self.negations, level.negations)
        if level.flat:
            pass
        elif bracket == "{":
            level.group, level.patterns = level, 1
            if parent.group is parent and not self._after_keyword():
                self._add_patterns(parent, 1, at)  # joined to its siblings (not OPTIONAL, UNION…)
        elif parent.group is not None and not self._after_keyword():
            level.group = parent.group  # [ … ] lists, ( … ) collections and paths, << … >>
            self._add_patterns(parent.group, 1, at)
        self.stack.append(level)
        self.nesting = max(self.nesting, len(self.stack) - 1)
        limits = self.limits
        if limits is not None and self.nesting > limits.max_nesting:
            raise QueryTooLarge(
                f"query nesting deeper than {limits.max_nesting} at {self._where(at)}:"
                " brackets {…}, (…), […] or <<…>> inside one another"
                " (limit EMK_MAX_QUERY_NESTING)",
                "nesting",
            )
        if limits is not None and level.negations > limits.max_negations:
            raise QueryTooLarge(
                f"negations nested deeper than {limits.max_negations} at {self._where(at)}:"
                " ! before a bracket inside another; a syntax error beneath them costs the"
                " parser twice the time for each (limit EMK_MAX_QUERY_NEGATIONS)",
                "negations",
            )
        self._check_depth(self.stack[-1], at)

    def _negated(self) -> int:
        """1 if the bracket being opened follows ``!`` (``!(``, ``!BOUND(``, ``!EXISTS {``)."""
        if self.previous_word == "!":
            return 1
        word = self.previous_word
        return int(self.before_previous == "!" and word[:1].isalpha() and self.previous == "word")

    def _after_keyword(self) -> bool:
        """After FILTER, BIND, a function's name…, ``(`` opens an expression, not triples."""
        word = self.previous_word
        return self.previous == "word" and word[0].isalpha() and ":" not in word and word != "a"

    def _add_patterns(self, group: _Level, count: int, at: int) -> None:
        group.patterns += count
        self.patterns = max(self.patterns, group.patterns)
        limits = self.limits
        if limits is not None and group.patterns > limits.max_patterns:
            raise QueryTooLarge(
                f"more than {limits.max_patterns} triple patterns or joined groups in one"
                f" group {{…}} at {self._where(at)}: the optimiser's work grows steeply with"
                " them; split the group, or use VALUES (limit EMK_MAX_QUERY_PATTERNS)",
                "patterns",
            )

    def _close(self, at: int) -> None:
        if len(self.stack) == 1:
            return  # an unmatched closer: the parser reports it
        level = self.stack.pop()
        parent = self.stack[-1]
        parent.child = max(parent.child, level.depth())
        self._check_depth(parent, at)

    def _check_depth(self, level: _Level, at: int) -> None:
        depth = level.base + level.depth()
        if depth <= self.depth:
            return
        self.depth = depth
        limits = self.limits
        if limits is not None and depth > limits.max_depth:
            raise QueryTooLarge(
                f"query deeper than {limits.max_depth} levels at {self._where(at)}: each"
                " bracket and each element of a chain (operands of + or ||, triple patterns,"
                " UNION branches, OPTIONALs, path steps, collection items) adds a level;"
                " shorten the chain, or use VALUES or IN lists, which add none"
                " (limit EMK_MAX_QUERY_DEPTH)",
                "depth",
            )

    def _where(self, at: int) -> str:
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return f"line {line}, column {column}"


def measure_query(text: str) -> QueryShape:
    """The nesting and depth bound of ``text`` (for tests, benchmarks and choosing limits)."""
    meter = _Meter(text, None)
    meter.run()
    return QueryShape(len(text), meter.nesting, meter.depth, meter.patterns, meter.negations)


def check_query(text: str, limits: QueryLimits) -> None:
    """Refuse a query whose text is longer, more nested or deeper than ``limits`` allow.

    Raises:
        QueryTooLarge: naming the limit, its value, its setting and (nesting, depth) the line
            and column where the text went past it.
    """
    if len(text) > limits.max_length:
        raise QueryTooLarge(
            f"query longer than {limits.max_length} characters: {len(text)}"
            " (limit EMK_MAX_QUERY_LENGTH)",
            "length",
        )
    if len(text) <= MEMO_CHARS:
        _passed(text, limits)  # remembers texts that passed; a refusal is measured each time
    else:
        _Meter(text, limits).run()


def _measure(text: str, limits: QueryLimits) -> None:
    _Meter(text, limits).run()


_passed = functools.lru_cache(maxsize=MEMO_ENTRIES)(_measure)
