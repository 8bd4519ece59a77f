"""``RemoteEngine``: the endpoint's engine over a release published into a SPARQL store.

``migration-kg serve --store QUERY_URL`` builds the web app over this instead of the embedded
``QueryEngine``; the protocol stays ours. Every query gets the same checks as embedded
(read-only, SERVICE allowlist, syntax errors with line and column from pyoxigraph's parser, the
row cap), then goes to the store with the served release's versioned graphs as its dataset:
graph IRIs the query names are mapped to their versions (``sparql_rewrite``) and back in the
results (``remote_results``), and bound values travel as a VALUES block. The release served is
the one the store's pointer names at start-up (or a pinned build): one process never mixes two.

At the timeout the request is abandoned: the HTTP connection to the store is closed (httpx
drops a connection whose request was cancelled) and the client gets the usual 503. Closing
does not stop a store's evaluation: Virtuoso goes on until its own limit. So Virtuoso is also
sent the deadline (its ``timeout`` parameter, in ms), after which it stops work and answers
with partial results marked ``X-SQL-State: S1TAT``; any such marked answer is refused as a
timeout, never served as if it were complete.

Pages run several internal queries each, one after another; over a network each costs a round
trip and the store's own time. A release never changes while it is served, so ``query`` (the
pages' path) keeps its answers in a bounded LRU: a page asked again is answered from memory.
The endpoint's path (``answer_async``) is not cached here (``serve --cache`` does that).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pyoxigraph as ox

from migration_kg.core.errors import BadRequest, QuerySyntaxError, QueryTimeout, StoreError
from migration_kg.core.namespaces import PREFIXES
from migration_kg.core.settings import Settings
from migration_kg.serve.evaluation import Answer, Chooser, QueryKind, QueryResult
from migration_kg.serve.http_lean import LeanClient, LeanHTTPError
from migration_kg.serve.published import Names, Release, read_pointer, read_release
from migration_kg.serve.query_scan import scan_query
from migration_kg.serve.remote_results import read_json_results, read_ntriples
from migration_kg.serve.sparql_rewrite import absolute_iris, rename_graphs, with_values
from migration_kg.serve.store_http import (
    NTRIPLES,
    REFUSED,
    SPARQL_JSON,
    StoreClient,
    StoreUrls,
    one_line,
    store_auth,
)

_POSITION = re.compile(r"error at (\d+):(\d+):\s*")
_TIMED_OUT = re.compile(r"timed? ?out|execution time|exceeds the limit", re.I)
_SPO = ["subject", "predicate", "object"]
_PARTIAL = "S1TAT"  # Virtuoso: "Returning incomplete results, query interrupted by timeout"
DEFAULT_PARALLELISM = 16
CACHED_ANSWERS = 2048  # internal-query answers kept (the pages' queries, per process)
CACHED_ROWS = 5_000  # larger answers are not kept


@dataclass(frozen=True)
class _Request:
    """One checked query, ready for the store."""

    form: dict[str, str | list[str]]
    kind: QueryKind
    timeout: float
    row_cap: int


class RemoteEngine:
    """Read-only SPARQL over one published release in a remote store; thread- and fork-safe."""

    def __init__(
        self, settings: Settings, query_url: str, release: Release, *, virtuoso: bool = False
    ) -> None:
        self.settings = settings
        self.virtuoso = virtuoso  # send the deadline as Virtuoso's ``timeout`` parameter
        self.query_url = query_url
        self.release = release
        self.manifest = release.manifest
        self.build_hash = release.build_hash
        self._versions = release.versions
        self._renames = {ox.NamedNode(v): ox.NamedNode(g) for g, v in release.versions.items()}
        self._quads = sum(int(n) for n in release.manifest.get("triples", {}).values())
        self._parallel = DEFAULT_PARALLELISM
        self._parser = ox.Store()  # empty: only parses, so syntax errors read as embedded ones
        self._prefixes = {name: str(ns) for name, ns in PREFIXES.items()}
        self._pid = -1
        self._sync: httpx.Client | None = None
        self._async: dict[int, httpx.AsyncClient] = {}
        self._leans: dict[int, LeanClient] = {}
        # the lean client for plain-http stores without credentials; httpx for the rest
        self._lean = settings.store_user is None and query_url.startswith("http://")
        self._answers: OrderedDict[tuple[object, ...], QueryResult] = OrderedDict()
        self._answers_lock = threading.Lock()

    @classmethod
    def connect(cls, settings: Settings, query_url: str, build: str | None = None) -> RemoteEngine:
        """Resolve what to serve: the store's current release, or the pinned ``build`` hash.

        Raises:
            StoreError: the store cannot be reached or refuses, nothing is published there,
                or it has no complete release with that build hash.
        """
        names = Names(settings.base_iri)
        urls = StoreUrls(query_url, query_url, query_url)
        with StoreClient(urls, settings, retries=2, timeout_s=30) as client:
            iri = names.release(build) if build else read_pointer(client, names).current
            if iri is None:
                raise StoreError(f"{query_url}: no release is published there; run publish")
            release = read_release(client, names, iri)
            software = client.software()
        if release is None or (build and not release.build_hash.startswith(build)):
            raise StoreError(f"{query_url}: no complete release {build or iri.value} there")
        return cls(settings, query_url, release, virtuoso=software.startswith("Virtuoso"))

    def __len__(self) -> int:
        """Quads of the release (from its manifest: counting in the store would be a scan)."""
        return self._quads

    @property
    def parallelism(self) -> int:
        """Most queries this process has at the store at once (the rest wait, within timeout)."""
        return self._parallel

    @parallelism.setter
    def parallelism(self, count: int) -> None:
        self._parallel = max(1, count)
        self._pid = -1  # new clients with the new limit on next use

    def start(self) -> None:
        """Nothing to start: connections to the store open on first use, per process."""

    def close(self) -> None:
        """Nothing to stop: connections close with the process."""

    def stats(self) -> dict[str, Any]:
        """No evaluator processes here (the store evaluates): nothing to report."""
        return {}

    def query(
        self,
        sparql_text: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
        row_cap: int | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """As ``QueryEngine.query``, answered by the store.

        Raises:
            QuerySyntaxError, BadRequest, QueryTimeout: as the embedded engine.
            StoreError: the store cannot be reached or fails.
        """
        key = (
            sparql_text,
            tuple(default_graph_uris),
            tuple(named_graph_uris),
            tuple(sorted((k, str(v)) for k, v in (bindings or {}).items())),
            row_cap,
            base_iri,
        )
        with self._answers_lock:
            cached = self._answers.get(key)
            if cached is not None:
                self._answers.move_to_end(key)
                return cached
        request = self._prepare(
            sparql_text,
            default_graph_uris,
            named_graph_uris,
            timeout_s,
            bindings,
            row_cap,
            base_iri,
        )
        result = self._fetch(request)
        # A cut answer is kept too (the cap is in the key, the release cannot change while it is
        # served): a page's inbound links are cut at 300 for any well-linked resource, and sending
        # that query to the store on every request made the 100k country page 50x slower.
        if len(result.terms) + len(result.triples) <= CACHED_ROWS:
            with self._answers_lock:
                self._answers[key] = result
                if len(self._answers) > CACHED_ANSWERS:
                    self._answers.popitem(last=False)
        return result

    def _fetch(self, request: _Request) -> QueryResult:
        """Send one query to the store and read its answer, abandoning it at the deadline."""
        deadline = time.monotonic() + request.timeout
        try:
            with self._client().stream(
                "POST",
                self.query_url,
                data=request.form,
                headers=_accept(request.kind),
                timeout=_http_timeout(request),
            ) as response:
                body = bytearray()
                for part in response.iter_bytes():
                    body += part
                    if time.monotonic() > deadline:  # closing the stream drops the connection
                        raise _timeout(request)
                return self._result(request, response.status_code, response.headers, bytes(body))
        except httpx.TimeoutException:
            raise _timeout(request) from None
        except httpx.TransportError as exc:
            raise StoreError(f"{self.query_url}: cannot reach the store: {exc}") from exc

    async def query_async(
        self,
        sparql_text: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """``query`` without blocking the event loop; cancelled at the timeout.

        Raises:
            QuerySyntaxError, BadRequest, QueryTimeout, StoreError: as ``query``.
        """
        request = self._prepare(
            sparql_text, default_graph_uris, named_graph_uris, timeout_s, bindings, None, base_iri
        )
        accept = _accept(request.kind)
        try:
            if self._lean:
                lean = await asyncio.wait_for(
                    self._lean_client().post_form(request.form, accept["Accept"]),
                    request.timeout,
                )
                return self._result(request, lean.status, lean.headers, lean.content)
            response = await asyncio.wait_for(
                self._async_client().post(
                    self.query_url,
                    data=request.form,
                    headers=accept,
                    timeout=_http_timeout(request),
                ),
                request.timeout,
            )
        except (TimeoutError, httpx.TimeoutException):
            raise _timeout(request) from None
        except (httpx.TransportError, LeanHTTPError, OSError) as exc:
            raise StoreError(f"{self.query_url}: cannot reach the store: {exc}") from exc
        return self._result(request, response.status_code, response.headers, response.content)

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
        """The endpoint's path: ``query_async``, then written in the format ``choose`` picks.

        ``background`` (a heavy query) changes nothing here: the store schedules its own work.

        Raises:
            QuerySyntaxError, BadRequest, QueryTimeout, StoreError, NotAcceptable.
        """
        result = await self.query_async(
            sparql_text,
            default_graph_uris=default_graph_uris,
            named_graph_uris=named_graph_uris,
            timeout_s=timeout_s,
            base_iri=base_iri,
        )
        fmt = choose(result.formats())
        if len(result.terms) + len(result.triples) > 500:  # keep the loop free for others
            body = await asyncio.to_thread(result.serialize, fmt)
        else:
            body = result.serialize(fmt)
        return Answer(result.kind, body, fmt, result.truncated)

    def _prepare(
        self,
        text: str,
        default_graph_uris: Sequence[str],
        named_graph_uris: Sequence[str],
        timeout_s: float | None,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None,
        row_cap: int | None,
        base_iri: str | None = None,
    ) -> _Request:
        """The embedded engine's checks, then the text and dataset the store is sent.

        With ``base_iri``, relative IRIs resolve against it as embedded (a query's own BASE
        still wins): the store is sent them written out in full.
        """
        scan = scan_query(text)
        if scan.is_update:
            raise BadRequest("SPARQL updates are not accepted: this endpoint is read-only", "query")
        refused = [s for s in scan.services if s not in self.settings.service_allowlist]
        if refused:
            raise BadRequest(f"SERVICE is not allowed for {', '.join(refused)}", "query")
        self._check_syntax(text, base_iri)
        sent = rename_graphs(absolute_iris(text, base_iri) if base_iri else text, self._versions)
        if bindings:
            sent = with_values(sent, [bindings])
        form: dict[str, str | list[str]] = {"query": sent}
        if default_graph_uris or named_graph_uris:
            form["default-graph-uri"] = self._graphs(default_graph_uris, "default-graph-uri")
            form["named-graph-uri"] = self._graphs(named_graph_uris, "named-graph-uri")
        elif not scan.has_from:  # the release's union as default graph, as embedded
            form["default-graph-uri"] = sorted(self._versions.values())
            form["named-graph-uri"] = sorted(self._versions.values())
        timeout = self.settings.query_timeout_s if timeout_s is None else timeout_s
        if self.virtuoso:
            form["timeout"] = str(max(1, int(timeout * 1000)))
        kind: QueryKind = scan.form if scan.form in ("SELECT", "ASK", "DESCRIBE") else "CONSTRUCT"  # type: ignore[assignment]
        cap = self.settings.result_row_cap if row_cap is None else row_cap
        return _Request(form, kind, timeout, cap)

    def _graphs(self, iris: Sequence[str], parameter: str) -> list[str]:
        """Protocol graph IRIs, checked as embedded, mapped to the served versions."""
        try:
            checked = [ox.NamedNode(iri).value for iri in iris]
        except ValueError as exc:
            raise BadRequest(f"{parameter} is not an absolute IRI: {exc}", parameter) from exc
        return [self._versions.get(iri, iri) for iri in checked]

    def _check_syntax(self, text: str, base_iri: str | None = None) -> None:
        """Parse with pyoxigraph (on an empty store: nothing is evaluated) for embedded errors."""
        try:
            self._parser.query(text, base_iri=base_iri)
        except SyntaxError as exc:
            message = str(exc.msg if exc.msg else exc)
            found = _POSITION.match(message)
            if found is None:
                raise QuerySyntaxError(message) from exc
            line, column = int(found.group(1)), int(found.group(2))
            raise QuerySyntaxError(message[found.end() :], line, column) from exc
        except (OSError, RuntimeError, ValueError):
            pass  # evaluation errors over no data: the store will answer for itself

    def _result(
        self, request: _Request, code: int, headers: Mapping[str, str], body: bytes
    ) -> QueryResult:
        """The store's answer as a ``QueryResult``, or its error as ours."""
        if headers.get("x-sql-state") == _PARTIAL:  # Virtuoso cut it at its deadline
            raise _timeout(request)
        if code >= 300:
            message = one_line(body.decode("utf-8", errors="replace"))
            if code in REFUSED:
                raise StoreError(f"{self.query_url}: the store refused the credentials ({code})")
            if _TIMED_OUT.search(message):
                raise _timeout(request)
            if code < 500:
                raise BadRequest(f"the store rejected the query: {message}", "query")
            raise StoreError(f"{self.query_url}: the store failed (HTTP {code}): {message}")
        if request.kind in ("CONSTRUCT", "DESCRIBE"):
            triples, cut = read_ntriples(body, self._renames, request.row_cap)
            return QueryResult(
                request.kind, _SPO, triples=triples, truncated=cut, prefixes=self._prefixes
            )
        variables, rows, boolean, cut = read_json_results(body, self._renames, request.row_cap)
        if request.kind == "ASK":
            return QueryResult("ASK", boolean=bool(boolean))
        return QueryResult("SELECT", variables, rows, truncated=cut)

    def _client(self) -> httpx.Client:
        """The blocking client of this process (a forked child makes its own)."""
        if self._sync is None or self._pid != os.getpid():
            self._pid, self._async, self._leans = os.getpid(), {}, {}
            self._sync = httpx.Client(**self._client_options())
        return self._sync

    def _async_client(self) -> httpx.AsyncClient:
        """The event loop's client: connections belong to the loop that opened them."""
        self._client()  # resets the async clients after a fork
        loop = id(asyncio.get_running_loop())
        client = self._async.get(loop)
        if client is None:
            client = self._async[loop] = httpx.AsyncClient(**self._client_options())
        return client

    def _lean_client(self) -> LeanClient:
        """The event loop's lean client (see ``http_lean``)."""
        self._client()  # resets the per-loop clients after a fork
        loop = id(asyncio.get_running_loop())
        client = self._leans.get(loop)
        if client is None:
            client = self._leans[loop] = LeanClient(self.query_url, self._parallel)
        return client

    def _client_options(self) -> dict[str, Any]:
        limits = httpx.Limits(
            max_connections=self._parallel, max_keepalive_connections=self._parallel
        )
        return {
            "auth": store_auth(self.settings),
            "timeout": httpx.Timeout(self.settings.query_timeout_s * 4, connect=5.0),
            "limits": limits,
            "trust_env": False,
        }


def _accept(kind: QueryKind) -> dict[str, str]:
    return {"Accept": NTRIPLES if kind in ("CONSTRUCT", "DESCRIBE") else SPARQL_JSON}


def _http_timeout(request: _Request) -> httpx.Timeout:
    return httpx.Timeout(request.timeout, connect=min(5.0, request.timeout))


def _timeout(request: _Request) -> QueryTimeout:
    return QueryTimeout(f"query exceeded the {request.timeout:g} s timeout")
