"""QueryEngine: read-only SPARQL over the release artefacts (the layer between release and web/cli).

The release's TriG is bulk-loaded into an in-memory pyoxigraph ``Store``. Every query is checked
before it runs (no updates, no SERVICE outside ``settings.service_allowlist``), evaluated against
a deadline, and cut at ``settings.result_row_cap`` rows with ``truncated`` set, so that neither a
slow query nor a huge answer can hold the server hostage. FROM / FROM NAMED IRIs only select
graphs already in the store: nothing is ever fetched from the network.

Two paths (evaluation.py holds what they share):

* ``answer_async`` — the endpoint's path for queries written by anyone — evaluates in a killable
  evaluator process (pool.py) and goes straight to bytes in one negotiated format: at the
  deadline the process is killed and its CPU is free. ``settings.evaluation = "thread"`` uses a
  worker thread instead (today's baseline, which cannot stop a runaway query).
* ``query`` and ``query_async`` — the server's own queries (pages, search index, named queries
  with bound parameters) and the CLI — run in persistent worker threads (threads.py) and return
  rows as Python objects.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pyoxigraph as ox

from migration_kg.core.errors import BadRequest, SourceError
from migration_kg.core.names import DATASET_ARTEFACT, MANIFEST
from migration_kg.core.settings import Settings
from migration_kg.serve.evaluation import (
    Answer,
    Choices,
    Chooser,
    Job,
    QueryKind,
    QueryResult,
    Stopped,
    answer,
    choices_for,
    default_prefixes,
    evaluate,
    graphs,
    offered_formats,
)
from migration_kg.serve.intake import QueryLimits, check_query
from migration_kg.serve.pool import EvaluatorPool
from migration_kg.serve.query_scan import scan_query
from migration_kg.serve.threads import Workers

log = logging.getLogger(__name__)

Bindings = Mapping[str, ox.NamedNode | ox.Literal]


class QueryEngine:
    """Read-only SPARQL over one loaded release; thread-safe, shared by all requests."""

    def __init__(self, store: ox.Store, settings: Settings, manifest: dict[str, Any]) -> None:
        self._store = store
        self.settings = settings
        self.manifest = manifest
        self.build_hash = str(manifest.get("build_hash", ""))
        self._limits = QueryLimits.from_settings(settings)
        self._workers = Workers(os.cpu_count() or 1, self._limits.stack_bytes)
        self._quads: int | None = None
        self._prefixes = default_prefixes()
        size = settings.evaluators or os.cpu_count() or 1
        self._pool: EvaluatorPool | None = None
        if settings.evaluation == "process":
            self._pool = EvaluatorPool(
                store,
                self._prefixes,
                size,
                settings.heavy_after_s,
                settings.max_query_mb,
                self._limits.stack_bytes,
            )

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

    def start(self) -> None:
        """Start the evaluator processes now (the server does this before taking requests, so
        that they are forked from a quiet process); otherwise the first query starts them."""
        if self._pool is not None:
            self._pool.start()

    def close(self) -> None:
        """Stop the evaluator processes (they also stop on their own when this process ends)."""
        if self._pool is not None:
            self._pool.close()

    def stats(self) -> dict[str, Any]:
        """Evaluator counters and memory, for the metrics (empty without evaluator processes)."""
        return self._pool.stats() if self._pool is not None else {}

    def query(
        self,
        sparql_text: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        bindings: Bindings | None = None,
        row_cap: int | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Check, evaluate and collect one query within the timeout and row cap.

        Without protocol graph IRIs and without FROM in the query, the default graph is the
        union of all named graphs (the release keeps everything in named graphs). ``bindings``
        substitute variables by terms inside pyoxigraph (SEP-0007), so values never touch the
        query text. ``row_cap`` overrides the setting for internal queries (pages, search index)
        whose size the server, not the client, decides. Relative IRIs resolve against
        ``base_iri`` (a query's own BASE wins); without one they are a syntax error.

        Raises:
            QuerySyntaxError: the text does not parse (line and column from pyoxigraph).
            BadRequest: an update, a SERVICE outside the allowlist, a bad graph IRI, or an
                evaluation error.
            QueryTimeout: evaluation took longer than the timeout.
        """
        job = self._prepare(
            sparql_text, default_graph_uris, named_graph_uris, timeout_s, bindings, base_iri
        )
        if row_cap is not None:
            job.row_cap = row_cap
        return self._workers.run(job, self._evaluate)

    async def query_async(
        self,
        sparql_text: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        bindings: Bindings | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """``query`` for an event loop: awaits the worker instead of parking a thread on it.

        The web app uses this so that a request costs one thread hop, not two (an executor
        thread parked on ``query``): fewer GIL hand-offs per request under concurrency. Same
        checks, limits and errors as ``query``.
        """
        job = self._prepare(
            sparql_text, default_graph_uris, named_graph_uris, timeout_s, bindings, base_iri
        )
        return await self._workers.run_async(job, self._evaluate)

    async def answer_async(
        self,
        sparql_text: str,
        choose: Chooser,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        base_iri: str | None = None,
        background: bool = False,
    ) -> Answer:
        """Evaluate and serialize a query anyone may have written, in the format ``choose`` picks.

        The endpoint's path: in an evaluator process killed at the deadline (or in a worker
        thread with ``evaluation = "thread"``). SELECT results go through pyoxigraph's native
        writers (no Python object per term) unless the row cap could bite, when the rows are
        collected and cut as ``query`` does. ``choose`` is asked for both result families up
        front, and its refusal raised only once the query has parsed, so a syntax error still
        wins over 406. ``background`` starts the evaluation at idle CPU priority (a client the
        server knows for heavy queries). Same checks, limits and errors as ``query``, plus
        ``NotAcceptable`` from ``choose``, ``ServerBusy`` if no evaluator freed up before the
        deadline and ``QueryAborted`` over the memory limit.
        """
        job = self._prepare(
            sparql_text, default_graph_uris, named_graph_uris, timeout_s, base_iri=base_iri
        )
        choices = choices_for(choose)
        if self._pool is not None:
            return await self._pool.answer(job, choices, background)
        return await self._workers.run_async(job, lambda j, s: self._answer(j, choices, s))

    @property
    def parallelism(self) -> int:
        """How many queries this process evaluates at once at normal priority (default: one per
        CPU): evaluator processes for ``answer_async``, threads for the rest."""
        return self._pool.size if self._pool is not None else self._workers.parallel

    @parallelism.setter
    def parallelism(self, count: int) -> None:
        self._workers.parallel = max(1, count)
        if self._pool is not None and not self._pool.started:
            self._pool.size = max(1, count)

    def _prepare(
        self,
        text: str,
        default_graph_uris: Sequence[str],
        named_graph_uris: Sequence[str],
        timeout_s: float | None,
        bindings: Bindings | None = None,
        base_iri: str | None = None,
    ) -> Job:
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
            kwargs["default_graph"] = graphs(default_graph_uris, "default-graph-uri")
        if named_graph_uris:
            kwargs["named_graphs"] = graphs(named_graph_uris, "named-graph-uri")
        if not (default_graph_uris or named_graph_uris or scan.has_from):
            kwargs["use_default_graph_as_union"] = True
        if bindings:
            kwargs["substitutions"] = {ox.Variable(k): v for k, v in bindings.items()}
        if base_iri:
            kwargs["base_iri"] = base_iri
        timeout = self.settings.query_timeout_s if timeout_s is None else timeout_s
        kind: QueryKind = "DESCRIBE" if scan.form == "DESCRIBE" else "CONSTRUCT"
        return Job(text, kwargs, timeout, kind, self.settings.result_row_cap)

    def _evaluate(self, job: Job, stopped: Stopped) -> QueryResult:
        return evaluate(self._store, job, stopped, self._prefixes)

    def _answer(self, job: Job, choices: Choices, stopped: Stopped) -> Answer:
        return answer(self._store, job, choices, stopped, self._prefixes)


__all__ = ["Answer", "QueryEngine", "QueryResult", "offered_formats"]
