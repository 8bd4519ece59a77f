"""QueryEngine: read-only SPARQL over the release artefacts (the layer between release and web/cli).

The release's TriG is bulk-loaded into an in-memory pyoxigraph ``Store``. Every query is checked
before it runs (no updates, no SERVICE outside ``settings.service_allowlist``), evaluated by a
persistent worker thread against a deadline, and cut at ``settings.result_row_cap`` rows with
``truncated`` set, so that neither a slow query nor a huge answer can hold the server hostage.
FROM / FROM NAMED IRIs only select graphs already in the store: nothing is ever fetched from the
network. ``answer_async`` (the HTTP endpoint's path) goes straight to bytes in one negotiated
format, in the worker thread, with pyoxigraph's own result writers where the row cap allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pyoxigraph as ox

from migration_kg.core.errors import (
    BadRequest,
    NotAcceptable,
    QuerySyntaxError,
    QueryTimeout,
    SourceError,
)
from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.core.names import DATASET_ARTEFACT, MANIFEST
from migration_kg.core.namespaces import PREFIXES
from migration_kg.core.settings import Settings
from migration_kg.serve.intake import QueryLimits, check_query
from migration_kg.serve.query_scan import scan_query
from migration_kg.serve.results_io import (
    Term,
    display,
    serialize_solutions,
    write_boolean,
    write_select,
)

log = logging.getLogger(__name__)

QueryKind = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]
Format = ResultFormat | RdfFormat
# Picks the response format once the result's family is known (content negotiation).
Chooser = Callable[[tuple[Format, ...]], Format]
T = TypeVar("T")

_POSITION = re.compile(r"error at (\d+):(\d+):\s*")
# Evaluation threads in all: a runaway aggregate cannot be interrupted inside pyoxigraph, so this
# bounds how many threads such queries can pin; past it, queries wait and time out as "busy".
_MAX_THREADS = max(8, 4 * (os.cpu_count() or 2))

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
class _Job:
    """One checked query on its way to a worker thread."""

    text: str
    kwargs: dict[str, Any]
    timeout: float
    kind: QueryKind  # for graph results: pyoxigraph answers CONSTRUCT and DESCRIBE alike
    row_cap: int
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass(eq=False)
class _Task:
    """One unit of work in the pool; ``state`` moves queued → running → done, or is given up."""

    run: Callable[[], None]  # never raises: it hands its outcome to the caller
    state: Literal["queued", "running", "abandoned", "cancelled", "done"] = "queued"


class _Workers:
    """Persistent daemon threads that evaluate queries, ``parallel`` at a time.

    A thread per query (what this replaced) cost a thread start per request, during which the
    event loop waited for the new thread to get the GIL: a third of the loop's time on lookups.
    Queries wait in a queue rather than all running at once: on two cores, 16 evaluations at
    once took a quarter more CPU per query than one or two (caches, allocator, GIL hand-offs).

    A query abandoned at its timeout cannot be interrupted inside pyoxigraph: its thread is
    written off (``give_up``) and a new one started so that ``parallel`` stay available, up to
    ``limit`` threads in all; past that the queue waits and callers time out as "busy". The
    written-off thread retires when its query ends. Daemon threads, so that none keeps the
    process alive at exit. Threads do not survive ``fork``: a child starts with a fresh pool.
    """

    def __init__(self, parallel: int, limit: int, stack_bytes: int) -> None:
        self.parallel, self.limit = parallel, limit
        self.stack_bytes = stack_bytes  # pyoxigraph recurses on this stack (serve/intake.py)
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._queue: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._stuck = 0  # threads still running a query their caller gave up on

    def submit(self, run: Callable[[], None]) -> _Task:
        """Queue ``run``; it starts when one of the ``parallel`` workers is free."""
        if self._pid != os.getpid():  # forked: the parent's threads and locks are not ours
            self._reset()
        task = _Task(run)
        with self._lock:
            self._grow()
        self._queue.put(task)
        return task

    def give_up(self, task: _Task) -> bool:
        """The caller stops waiting: True if the task had not started (and now never will)."""
        with self._lock:
            if task.state == "queued":
                task.state = "cancelled"
                return True
            if task.state == "running":
                task.state = "abandoned"
                self._stuck += 1
                self._grow()
            return False

    def _grow(self) -> None:
        """Start threads until ``parallel`` are not stuck (within ``limit``); lock held."""
        while self._threads - self._stuck < self.parallel and self._threads < self.limit:
            default = threading.stack_size(self.stack_bytes)
            try:
                threading.Thread(target=self._serve, name="emk-query", daemon=True).start()
            finally:
                threading.stack_size(default)
            self._threads += 1

    def _serve(self) -> None:
        tasks = self._queue
        while True:
            task = tasks.get()
            if self._begin(task):
                task.run()
                if self._end(task):
                    return
            del task  # an idle thread must not keep the last query (and the engine) alive

    def _begin(self, task: _Task) -> bool:
        """Mark ``task`` running; False if its caller gave up while it waited."""
        with self._lock:
            if task.state != "queued":
                return False
            task.state = "running"
            return True

    def _end(self, task: _Task) -> bool:
        """Mark ``task`` done; True if this thread should retire (a replacement took over)."""
        with self._lock:
            if task.state == "abandoned":
                self._stuck -= 1
            task.state = "done"
            if self._threads - self._stuck > self.parallel:
                self._threads -= 1
                return True
            return False


class QueryEngine:
    """Read-only SPARQL over one loaded release; thread-safe, shared by all requests."""

    def __init__(self, store: ox.Store, settings: Settings, manifest: dict[str, Any]) -> None:
        self._store = store
        self.settings = settings
        self.manifest = manifest
        self.build_hash = str(manifest.get("build_hash", ""))
        self._limits = QueryLimits.from_settings(settings)
        self._workers = _Workers(os.cpu_count() or 1, _MAX_THREADS, self._limits.stack_bytes)
        self._quads: int | None = None
        self._prefixes = _default_prefixes()

    @classmethod
    def from_release(cls, settings: Settings) -> QueryEngine:
        """Bulk-load ``<dist>/emk.trig`` and read ``manifest.json``.

        Raises:
            SourceError: a release file is missing (run ``migration-kg build``) or does not parse.
        """
        trig, manifest_path = settings.dist / DATASET_ARTEFACT, settings.dist / MANIFEST
        for path in (trig, manifest_path):
            if not path.is_file():
                raise SourceError(path, "release file not found; run `migration-kg build` first")
        store = ox.Store()
        try:
            store.bulk_load(path=str(trig), format=ox.RdfFormat.TRIG)
        except SyntaxError as exc:
            raise SourceError(trig, str(exc), exc.lineno, exc.offset) from exc
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SourceError(manifest_path, f"not valid JSON: {exc}") from exc
        engine = cls(store, settings, manifest)
        log.info("loaded %d quads from %s", len(engine), trig)
        return engine

    def __len__(self) -> int:
        """Quads in the store, counted once: the store never changes while it is served.

        Counting walks every quad (and, through reference counts, writes to every page of the
        store): done per /health request or in each forked worker, it was slow at a million
        quads and un-shared the whole store between worker processes.
        """
        if self._quads is None:
            self._quads = len(self._store)
        return self._quads

    def query(
        self,
        sparql_text: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
        row_cap: int | None = None,
    ) -> QueryResult:
        """Check, evaluate and collect one query within the timeout and row cap.

        Without protocol graph IRIs and without FROM in the query, the default graph is the
        union of all named graphs (the release keeps everything in named graphs). ``bindings``
        substitute variables by terms inside pyoxigraph (SEP-0007), so values never touch the
        query text. ``row_cap`` overrides the setting for internal queries (pages, search index)
        whose size the server, not the client, decides.

        Raises:
            QuerySyntaxError: the text does not parse (line and column from pyoxigraph).
            BadRequest: an update, a SERVICE outside the allowlist, a bad graph IRI, or an
                evaluation error.
            QueryTimeout: evaluation took longer than the timeout.
        """
        job = self._prepare(sparql_text, default_graph_uris, named_graph_uris, timeout_s, bindings)
        if row_cap is not None:
            job.row_cap = row_cap
        return self._run(job, self._evaluate)

    async def query_async(
        self,
        sparql_text: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
    ) -> QueryResult:
        """``query`` for an event loop: awaits the worker instead of parking a thread on it.

        The web app uses this so that a request costs one thread hop, not two (an executor
        thread parked on ``query``): fewer GIL hand-offs per request under concurrency. Same
        checks, limits and errors as ``query``.
        """
        job = self._prepare(sparql_text, default_graph_uris, named_graph_uris, timeout_s, bindings)
        return await self._run_async(job, self._evaluate)

    async def answer_async(
        self,
        sparql_text: str,
        choose: Chooser,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
    ) -> Answer:
        """Evaluate and serialize in the worker thread, in the format ``choose`` picks.

        The endpoint's path: the event loop only parses HTTP and sends bytes, and SELECT results
        go through pyoxigraph's native writers (no Python object per term) unless the row cap
        could bite, when the rows are collected and cut here as ``query`` does. ``choose`` gets
        the result's family once the query has parsed, so a syntax error still wins over 406.
        Same checks, limits and errors as ``query``, plus ``NotAcceptable`` from ``choose``.
        """
        job = self._prepare(sparql_text, default_graph_uris, named_graph_uris, timeout_s)
        return await self._run_async(job, lambda j: self._answer(j, choose))

    @property
    def parallelism(self) -> int:
        """How many queries this process evaluates at once (default: one per CPU)."""
        return self._workers.parallel

    @parallelism.setter
    def parallelism(self, count: int) -> None:
        self._workers.parallel = max(1, count)

    def _run(self, job: _Job, work: Callable[[_Job], T]) -> T:
        """Hand ``job`` to a worker and block for its outcome until the job's deadline."""
        outcome: list[T | BaseException] = []
        done = threading.Event()

        def deliver(result: T | BaseException) -> None:
            outcome.append(result)
            done.set()

        task = self._submit(job, work, deliver)
        if not done.wait(job.timeout):
            raise self._give_up(job, task)
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    async def _run_async(self, job: _Job, work: Callable[[_Job], T]) -> T:
        """Hand ``job`` to a worker and await its outcome (never blocking the loop) until the
        deadline; a timed-out or cancelled job is told to stop producing rows."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def deliver(result: T | BaseException) -> None:
            if future.done():  # timed out and cancelled meanwhile
                return
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        def hand_over(result: T | BaseException) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
                loop.call_soon_threadsafe(deliver, result)

        task = self._submit(job, work, hand_over)
        try:
            return await asyncio.wait_for(future, job.timeout)
        except TimeoutError:
            raise self._give_up(job, task) from None
        except asyncio.CancelledError:  # the client went away: stop collecting rows
            self._give_up(job, task)
            raise

    def _give_up(self, job: _Job, task: _Task) -> QueryTimeout:
        """Stop waiting for ``job``: the error says whether it ever got to run."""
        job.stop.set()
        if self._workers.give_up(task):
            return QueryTimeout(f"server busy: no evaluation slot within {job.timeout:g} s")
        return QueryTimeout(f"query exceeded the {job.timeout:g} s timeout")

    def _prepare(
        self,
        text: str,
        default_graph_uris: Sequence[str],
        named_graph_uris: Sequence[str],
        timeout_s: float | None,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
    ) -> _Job:
        """Refuse what must not run; build pyoxigraph's dataset and substitution arguments."""
        check_query(text, self._limits)  # before any parser: too deep a query kills the process
        scan = scan_query(text)
        if scan.is_update:
            raise BadRequest("SPARQL updates are not accepted: this endpoint is read-only", "query")
        refused = [s for s in scan.services if s not in self.settings.service_allowlist]
        if refused:
            raise BadRequest(f"SERVICE is not allowed for {', '.join(refused)}", "query")
        kwargs: dict[str, Any] = {}
        if default_graph_uris:
            kwargs["default_graph"] = _graphs(default_graph_uris, "default-graph-uri")
        if named_graph_uris:
            kwargs["named_graphs"] = _graphs(named_graph_uris, "named-graph-uri")
        if not (default_graph_uris or named_graph_uris or scan.has_from):
            kwargs["use_default_graph_as_union"] = True
        if bindings:
            kwargs["substitutions"] = {ox.Variable(k): v for k, v in bindings.items()}
        timeout = self.settings.query_timeout_s if timeout_s is None else timeout_s
        kind: QueryKind = "DESCRIBE" if scan.form == "DESCRIBE" else "CONSTRUCT"
        return _Job(text, kwargs, timeout, kind, self.settings.result_row_cap)

    def _submit(
        self,
        job: _Job,
        work: Callable[[_Job], T],
        deliver: Callable[[T | BaseException], None],
    ) -> _Task:
        """Queue ``job`` for a worker thread, which hands the outcome to ``deliver``."""

        def run() -> None:
            try:
                result: T | BaseException = work(job)
            except BaseException as exc:  # handed to the waiting caller, re-raised there
                _drop_locals(exc)
                result = exc
            deliver(result)

        return self._workers.submit(run)

    def _start(self, job: _Job) -> ox.QueryBoolean | ox.QuerySolutions | ox.QueryTriples:
        """Parse and plan the query in pyoxigraph (evaluation itself is lazy)."""
        with _evaluation_errors():
            return self._store.query(job.text, **job.kwargs)

    def _evaluate(self, job: _Job) -> QueryResult:
        """Run the query and collect at most ``result_row_cap`` rows, stopping early if told."""
        return self._collect(job, self._start(job))

    def _collect(
        self, job: _Job, answer: ox.QueryBoolean | ox.QuerySolutions | ox.QueryTriples
    ) -> QueryResult:
        """Collect an answer's rows or triples as Python objects, cut at the job's row cap."""
        stop, kind, cap = job.stop, job.kind, job.row_cap
        if isinstance(answer, ox.QueryBoolean):
            return QueryResult("ASK", boolean=bool(answer))
        with _evaluation_errors():
            if isinstance(answer, ox.QuerySolutions):
                rows: list[tuple[Term | None, ...]] = []
                variables = [v.value for v in answer.variables]
                width = range(len(variables))
                for solution in answer:
                    if len(rows) == cap or stop.is_set():
                        return QueryResult("SELECT", variables, rows, truncated=len(rows) == cap)
                    rows.append(tuple(solution[i] for i in width))
                return QueryResult("SELECT", variables, rows)
            triples: list[ox.Triple] = []
            for triple in answer:
                if len(triples) == cap or stop.is_set():
                    break
                triples.append(triple)
            else:
                return QueryResult(kind, _SPO, triples=triples, prefixes=self._prefixes)
        truncated = len(triples) == cap
        return QueryResult(
            kind, _SPO, triples=triples, truncated=truncated, prefixes=self._prefixes
        )

    def _answer(self, job: _Job, choose: Chooser) -> Answer:
        """Evaluate and serialize in one go; native SELECT writing, Python when the cap bites."""
        answer = self._start(job)
        if isinstance(answer, ox.QuerySolutions):
            fmt = choose(tuple(ResultFormat))
            assert isinstance(fmt, ResultFormat)
            with _evaluation_errors():
                body = serialize_solutions(answer, fmt, job.row_cap, job.stop.is_set)
            if body is not None:
                return Answer("SELECT", body, fmt)
            answer = self._start(job)  # more rows than the cap (or unsure): collect and cut
        result = self._collect(job, answer)
        fmt = choose(result.formats())
        return Answer(result.kind, result.serialize(fmt), fmt, result.truncated)


def _drop_locals(exc: BaseException) -> None:
    """Free the locals of the frames an exception passed through, here in the worker thread.

    pyoxigraph's result iterators must be dropped on the thread that made them; a traceback
    carried to the event loop would otherwise keep one alive until it is freed there (an error
    from pyo3, and a leak). Line numbers stay, so logged tracebacks remain useful.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        pending += [current.__cause__, current.__context__]


@contextlib.contextmanager
def _evaluation_errors() -> Iterator[None]:
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


def _graphs(iris: Sequence[str], parameter: str) -> list[ox.NamedNode]:
    try:
        return [ox.NamedNode(iri) for iri in iris]
    except ValueError as exc:
        raise BadRequest(f"{parameter} is not an absolute IRI: {exc}", parameter) from exc


def _default_prefixes() -> dict[str, str]:
    return {name: str(ns) for name, ns in PREFIXES.items()}


def _media(family: Iterable[ResultFormat] | Iterable[RdfFormat]) -> tuple[str, ...]:
    return tuple(f.media_type for f in family)


__all__ = ["Answer", "QueryEngine", "QueryResult"]
