"""QueryEngine: read-only SPARQL over the release artefacts (the layer between release and web/cli).

The release's TriG is bulk-loaded into an in-memory pyoxigraph ``Store``. Every query is checked
before it runs (no updates, no SERVICE outside ``settings.service_allowlist``), evaluated in a
worker thread against a deadline, and cut at ``settings.result_row_cap`` rows with ``truncated``
set, so that neither a slow query nor a huge answer can hold the server hostage. FROM / FROM NAMED
IRIs only select graphs already in the store: nothing is ever fetched from the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyoxigraph as ox

from migration_kg.config import Settings
from migration_kg.errors import (
    BadRequest,
    NotAcceptable,
    QuerySyntaxError,
    QueryTimeout,
    SourceError,
)
from migration_kg.formats import RdfFormat, ResultFormat
from migration_kg.namespaces import PREFIXES
from migration_kg.query_scan import scan_query
from migration_kg.results_io import Term, display, write_boolean, write_select

log = logging.getLogger(__name__)

QueryKind = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]

RELEASE_FILE = "emk.trig"
MANIFEST_FILE = "manifest.json"
_POSITION = re.compile(r"error at (\d+):(\d+):\s*")
# Evaluations that may run at once: a runaway aggregate cannot be interrupted inside pyoxigraph,
# so this bounds how many threads such queries can pin; further queries wait and time out.
_MAX_CONCURRENT = max(8, 4 * (os.cpu_count() or 2))

# pyoxigraph's writer for each RDF format (shared with the web layer).
OXIGRAPH_RDF_FORMATS = {
    RdfFormat.TURTLE: ox.RdfFormat.TURTLE,
    RdfFormat.NTRIPLES: ox.RdfFormat.N_TRIPLES,
    RdfFormat.JSONLD: ox.RdfFormat.JSON_LD,
    RdfFormat.RDFXML: ox.RdfFormat.RDF_XML,
    RdfFormat.TRIG: ox.RdfFormat.TRIG,
    RdfFormat.NQUADS: ox.RdfFormat.N_QUADS,
}
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
        return tuple(RdfFormat) if self.is_graph else tuple(ResultFormat)

    def serialize(self, fmt: ResultFormat | RdfFormat) -> bytes:
        """Write the result; graphs with pyoxigraph's serializers, SELECT/ASK via results_io.

        Raises:
            NotAcceptable: the format belongs to the other family or cannot express the result.
        """
        if self.is_graph:
            if not isinstance(fmt, RdfFormat):
                raise NotAcceptable(f"{self.kind} results are RDF graphs", _media(RdfFormat))
            try:
                out = ox.serialize(
                    self.triples, format=OXIGRAPH_RDF_FORMATS[fmt], prefixes=self.prefixes
                )
            except ValueError as exc:  # e.g. a predicate RDF/XML cannot write as an element name
                raise NotAcceptable(f"cannot write this graph as {fmt.media_type}: {exc}") from exc
            return out or b""
        if not isinstance(fmt, ResultFormat):
            raise NotAcceptable(f"{self.kind} results are SPARQL results", _media(ResultFormat))
        if self.kind == "ASK":
            return write_boolean(fmt, bool(self.boolean))
        return write_select(fmt, self.variables, self.terms)


@dataclass
class _Job:
    """One checked query on its way to a worker thread."""

    text: str
    kwargs: dict[str, Any]
    timeout: float
    kind: QueryKind  # for graph results: pyoxigraph answers CONSTRUCT and DESCRIBE alike
    row_cap: int
    stop: threading.Event = field(default_factory=threading.Event)


class QueryEngine:
    """Read-only SPARQL over one loaded release; thread-safe, shared by all requests."""

    def __init__(self, store: ox.Store, settings: Settings, manifest: dict[str, Any]) -> None:
        self._store = store
        self.settings = settings
        self.manifest = manifest
        self.build_hash = str(manifest.get("build_hash", ""))
        self._slots = threading.BoundedSemaphore(_MAX_CONCURRENT)
        self._prefixes = _default_prefixes()

    @classmethod
    def from_release(cls, settings: Settings) -> QueryEngine:
        """Bulk-load ``<dist>/emk.trig`` and read ``manifest.json``.

        Raises:
            SourceError: a release file is missing (run ``migration-kg build``) or does not parse.
        """
        trig, manifest_path = settings.dist / RELEASE_FILE, settings.dist / MANIFEST_FILE
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
        log.info("loaded %d quads from %s", len(store), trig)
        return cls(store, settings, manifest)

    def __len__(self) -> int:
        return len(self._store)

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
        if not self._slots.acquire(timeout=job.timeout):
            raise QueryTimeout(f"server busy: no evaluation slot within {job.timeout:g} s")
        outcome: list[QueryResult | BaseException] = []
        done = threading.Event()

        def deliver(result: QueryResult | BaseException) -> None:
            outcome.append(result)
            done.set()

        self._spawn(job, deliver)
        if not done.wait(job.timeout):
            job.stop.set()
            raise QueryTimeout(f"query exceeded the {job.timeout:g} s timeout")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + job.timeout
        if not self._slots.acquire(blocking=False):
            await self._wait_for_slot(loop, job.timeout)
        future: asyncio.Future[QueryResult] = loop.create_future()

        def deliver(result: QueryResult | BaseException) -> None:
            if future.done():  # timed out and cancelled meanwhile
                return
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        def hand_over(result: QueryResult | BaseException) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
                loop.call_soon_threadsafe(deliver, result)

        self._spawn(job, hand_over)
        try:
            return await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise QueryTimeout(f"query exceeded the {job.timeout:g} s timeout") from None
        finally:
            if future.cancelled():  # timeout or client gone: stop collecting rows nobody reads
                job.stop.set()

    async def _wait_for_slot(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        """Block for a slot in the default executor (never in the loop), up to ``timeout``.

        Raises:
            QueryTimeout: no slot freed up in time.
        """
        waiting = loop.run_in_executor(None, self._slots.acquire, True, timeout)
        try:
            acquired = await asyncio.shield(waiting)
        except asyncio.CancelledError:  # the request went away: give back a slot won meanwhile
            waiting.add_done_callback(lambda f: self._slots.release() if f.result() else None)
            raise
        if not acquired:
            raise QueryTimeout(f"server busy: no evaluation slot within {timeout:g} s")

    def _prepare(
        self,
        text: str,
        default_graph_uris: Sequence[str],
        named_graph_uris: Sequence[str],
        timeout_s: float | None,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
    ) -> _Job:
        """Refuse what must not run; build pyoxigraph's dataset and substitution arguments."""
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

    def _spawn(self, job: _Job, deliver: Callable[[QueryResult | BaseException], None]) -> None:
        """Evaluate ``job`` in a daemon thread (holding a slot the caller acquired).

        Daemon threads, not an executor: a query abandoned at its timeout cannot be interrupted
        inside pyoxigraph, and must not keep the process alive at shutdown.
        """

        def work() -> None:
            try:
                result: QueryResult | BaseException = self._evaluate(job)
            except BaseException as exc:  # handed to the waiting caller, re-raised there
                result = exc
            finally:
                self._slots.release()
            deliver(result)

        threading.Thread(target=work, name="emk-query", daemon=True).start()

    def _evaluate(self, job: _Job) -> QueryResult:
        """Run the query and collect at most ``result_row_cap`` rows, stopping early if told."""
        text, kwargs, stop, kind, cap = job.text, job.kwargs, job.stop, job.kind, job.row_cap
        try:
            answer = self._store.query(text, **kwargs)
            if isinstance(answer, ox.QueryBoolean):
                return QueryResult("ASK", boolean=bool(answer))
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


__all__ = ["QueryEngine", "QueryResult"]
