"""Evaluating one checked query against the store: the part shared by threads and processes.

``QueryEngine`` (engine.py) checks a query and builds a ``Job``; a worker thread (threads.py) or an
evaluator process (evaluators.py) then runs it here. Everything a job carries is plain data that
pickles (the dataset and substitution arguments are pyoxigraph terms, which do), so the same
functions serve both paths; ``stopped`` lets a thread's caller stop row collection early, while a
process is simply killed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyoxigraph as ox

from migration_kg.core.errors import BadRequest, MigrationKGError, NotAcceptable, QuerySyntaxError
from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.core.namespaces import PREFIXES
from migration_kg.serve.results_io import (
    Term,
    display,
    serialize_solutions,
    write_boolean,
    write_select,
)

QueryKind = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]
Format = ResultFormat | RdfFormat
# Picks the response format once the result's family is known (content negotiation).
Chooser = Callable[[tuple[Format, ...]], Format]
Stopped = Callable[[], bool]
Family = Literal["results", "graph"]
# The format chosen for each result family, or the error choosing it raised (406 …): decided
# before evaluation so that a process needs no callback, raised only once the query has parsed.
Choices = Mapping[Family, Format | MigrationKGError]

_POSITION = re.compile(r"error at (\d+):(\d+):\s*")
_SPO = ["subject", "predicate", "object"]


@dataclass
class QueryResult:
    """One evaluated query: rows for humans (CLI table) and ``serialize`` for machines (HTTP)."""

    kind: QueryKind
    variables: list[str] = field(default_factory=list)
    terms: list[tuple[Term | None, ...]] = field(default_factory=list)  # SELECT
    triples: list[ox.Triple] = field(default_factory=list)  # CONSTRUCT / DESCRIBE
    boolean: bool | None = None  # ASK
    truncated: bool = False
    prefixes: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> list[tuple[str | None, ...]]:
        """Bindings (or triples) as plain strings: IRI, lexical form, ``_:id``; None if unbound."""
        if self.is_graph:
            return [
                (display(t.subject), display(t.predicate), display(t.object)) for t in self.triples
            ]
        return [tuple(None if t is None else display(t) for t in row) for row in self.terms]

    @property
    def is_graph(self) -> bool:
        return self.kind in ("CONSTRUCT", "DESCRIBE")

    def formats(self) -> tuple[ResultFormat | RdfFormat, ...]:
        """The formats this result can be written in, preferred first (negotiation offers these)."""
        return offered_formats(self.kind)

    def serialize(self, fmt: ResultFormat | RdfFormat) -> bytes:
        """Write the result; graphs with pyoxigraph's serializers, SELECT/ASK via results_io.

        Raises:
            NotAcceptable: the format belongs to the other family or cannot express the result.
        """
        if self.is_graph:
            if not isinstance(fmt, RdfFormat):
                raise NotAcceptable(f"{self.kind} results are RDF graphs", _media(RdfFormat))
            try:
                out = ox.serialize(self.triples, format=fmt.oxigraph, prefixes=self.prefixes)
            except ValueError as exc:  # e.g. a predicate RDF/XML cannot write as an element name
                raise NotAcceptable(f"cannot write this graph as {fmt.media_type}: {exc}") from exc
            return out or b""
        if not isinstance(fmt, ResultFormat):
            raise NotAcceptable(f"{self.kind} results are SPARQL results", _media(ResultFormat))
        if self.kind == "ASK":
            return write_boolean(fmt, bool(self.boolean))
        return write_select(fmt, self.variables, self.terms)


@dataclass(frozen=True)
class Answer:
    """A query answered straight to bytes in one negotiated format (what the endpoint sends)."""

    kind: QueryKind
    body: bytes
    fmt: ResultFormat | RdfFormat
    truncated: bool = False

    @property
    def offered(self) -> tuple[ResultFormat | RdfFormat, ...]:
        """The formats this kind of result could have been written in (for a result cache)."""
        return offered_formats(self.kind)


def offered_formats(kind: QueryKind) -> tuple[ResultFormat | RdfFormat, ...]:
    """Graph results are written as RDF, SELECT/ASK as SPARQL results; preferred first."""
    return tuple(RdfFormat) if kind in ("CONSTRUCT", "DESCRIBE") else tuple(ResultFormat)


@dataclass
class Job:
    """One checked query: text, pyoxigraph's keyword arguments, deadline and row cap."""

    text: str
    kwargs: dict[str, Any]
    timeout: float
    kind: QueryKind  # for graph results: pyoxigraph answers CONSTRUCT and DESCRIBE alike
    row_cap: int


def choices_for(choose: Chooser) -> dict[Family, Format | MigrationKGError]:
    """Ask ``choose`` for both result families up front, keeping its refusals to raise later."""
    choices: dict[Family, Format | MigrationKGError] = {}
    for family, offered in (("results", tuple(ResultFormat)), ("graph", tuple(RdfFormat))):
        try:
            choices[family] = choose(offered)  # type: ignore[index]
        except MigrationKGError as exc:
            choices[family] = exc  # type: ignore[index]
    return choices


def start(store: ox.Store, job: Job) -> ox.QueryBoolean | ox.QuerySolutions | ox.QueryTriples:
    """Parse and plan the query in pyoxigraph (evaluation itself is lazy)."""
    with evaluation_errors():
        return store.query(job.text, **job.kwargs)


def collect(
    job: Job,
    answer: ox.QueryBoolean | ox.QuerySolutions | ox.QueryTriples,
    stopped: Stopped,
    prefixes: dict[str, str],
) -> QueryResult:
    """Collect an answer's rows or triples as Python objects, cut at the job's row cap."""
    kind, cap = job.kind, job.row_cap
    if isinstance(answer, ox.QueryBoolean):
        return QueryResult("ASK", boolean=bool(answer))
    with evaluation_errors():
        if isinstance(answer, ox.QuerySolutions):
            rows: list[tuple[Term | None, ...]] = []
            variables = [v.value for v in answer.variables]
            width = range(len(variables))
            for solution in answer:
                if len(rows) == cap or stopped():
                    return QueryResult("SELECT", variables, rows, truncated=len(rows) == cap)
                rows.append(tuple(solution[i] for i in width))
            return QueryResult("SELECT", variables, rows)
        triples: list[ox.Triple] = []
        for triple in answer:
            if len(triples) == cap or stopped():
                break
            triples.append(triple)
        else:
            return QueryResult(kind, _SPO, triples=triples, prefixes=prefixes)
    truncated = len(triples) == cap
    return QueryResult(kind, _SPO, triples=triples, truncated=truncated, prefixes=prefixes)


def evaluate(store: ox.Store, job: Job, stopped: Stopped, prefixes: dict[str, str]) -> QueryResult:
    """Run the query and collect at most the job's row cap, stopping early if told."""
    return collect(job, start(store, job), stopped, prefixes)


def answer(
    store: ox.Store, job: Job, choices: Choices, stopped: Stopped, prefixes: dict[str, str]
) -> Answer:
    """Evaluate and serialize in one go; native SELECT writing, Python when the cap bites."""
    result = start(store, job)
    if isinstance(result, ox.QuerySolutions):
        fmt = _chosen(choices, "results")
        assert isinstance(fmt, ResultFormat)
        with evaluation_errors():
            body = serialize_solutions(result, fmt, job.row_cap, stopped)
        if body is not None:
            return Answer("SELECT", body, fmt)
        result = start(store, job)  # more rows than the cap (or unsure): collect and cut
    collected = collect(job, result, stopped, prefixes)
    fmt = _chosen(choices, "graph" if collected.is_graph else "results")
    return Answer(collected.kind, collected.serialize(fmt), fmt, collected.truncated)


def _chosen(choices: Choices, family: Family) -> Format:
    choice = choices[family]
    if isinstance(choice, MigrationKGError):
        raise choice
    return choice


@contextlib.contextmanager
def evaluation_errors() -> Iterator[None]:
    """pyoxigraph's exceptions as the engine's: syntax errors with position, others as 400."""
    try:
        yield
    except SyntaxError as exc:
        raise _syntax_error(exc) from exc
    except (OSError, RuntimeError, ValueError) as exc:
        raise BadRequest(f"query evaluation failed: {exc}", "query") from exc


def _syntax_error(exc: SyntaxError) -> QuerySyntaxError:
    message = str(exc.msg if exc.msg else exc)
    found = _POSITION.match(message)
    if found is None:
        return QuerySyntaxError(message)
    return QuerySyntaxError(message[found.end() :], int(found.group(1)), int(found.group(2)))


def graphs(iris: Iterable[str], parameter: str) -> list[ox.NamedNode]:
    """Protocol graph IRIs as pyoxigraph terms.

    Raises:
        BadRequest: an IRI is not absolute.
    """
    try:
        return [ox.NamedNode(iri) for iri in iris]
    except ValueError as exc:
        raise BadRequest(f"{parameter} is not an absolute IRI: {exc}", parameter) from exc


def default_prefixes() -> dict[str, str]:
    return {name: str(ns) for name, ns in PREFIXES.items()}


def _media(family: Iterable[ResultFormat] | Iterable[RdfFormat]) -> tuple[str, ...]:
    return tuple(f.media_type for f in family)
