"""HTTP to a remote SPARQL store: the Graph Store Protocol, queries and updates, errors as one line.

Used by ``publish`` (serve layer, beside the engine) to write a release into Virtuoso, Oxigraph
server or any store speaking SPARQL 1.1 GSP + Update, and by the remote backend to read it.
Credentials come from ``Settings`` (``EMK_STORE_USER``/``EMK_STORE_PASSWORD``), are answered to
whichever challenge the store sends (Virtuoso's ``*-auth`` endpoints ask for Digest, most others
for Basic), and never appear in a message. Every failure becomes a ``StoreError`` whose message
says in one line what is wrong (wrong URL, refused credentials, no GSP, full disk) and where.
Transient failures (connection lost, 502/503/504, 429) are retried with exponential backoff.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import pyoxigraph as ox

from migration_kg.core.errors import StoreError
from migration_kg.core.settings import Settings
from migration_kg.serve.results_io import Term

log = logging.getLogger(__name__)

T = TypeVar("T")
NTRIPLES = "application/n-triples"
SPARQL_JSON = "application/sparql-results+json"
TRANSIENT = frozenset({429, 502, 503, 504})
NO_GSP = frozenset({404, 405, 406, 415, 501})
REFUSED = frozenset({401, 403})
_DISK_FULL = re.compile(r"no space left|disk full|out of disk|insufficient storage", re.I)
_TAGS = re.compile(r"<[^>]*>")
# Virtuoso answers 500 when a query waited too long for locks (e.g. just after a bulk load).
_BUSY = re.compile(r"SR171|Transaction timed out")
# Query and update URLs beside a store's GSP URL, for the stores whose layout is known.
_SIBLINGS = {
    # Virtuoso, authenticated: reads go to the public /sparql, where a count over a million
    # triples takes a second; on /sparql-auth the same read timed out (SR171) after a load
    "sparql-graph-crud-auth": ("sparql", "sparql-auth"),
    "sparql-graph-crud": ("sparql", "sparql"),  # Virtuoso
    "store": ("query", "update"),  # Oxigraph server
    "data": ("query", "update"),  # Apache Jena Fuseki (/<dataset>/data)
}


@dataclass(frozen=True)
class StoreUrls:
    """Where a store takes GSP writes, queries and updates."""

    gsp: str
    query: str
    update: str

    @classmethod
    def around(cls, gsp: str, query: str | None = None, update: str | None = None) -> StoreUrls:
        """The given URLs, the missing ones guessed from the GSP URL's last path segment.

        Raises:
            StoreError: a URL is not http(s), or a needed URL cannot be guessed.
        """
        for url in (gsp, query, update):
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                raise StoreError(f"{url}: not an http(s) URL")
        parts = urlsplit(gsp)
        head, _, last = parts.path.rstrip("/").rpartition("/")
        siblings = _SIBLINGS.get(last)
        if siblings is None and (query is None or update is None):
            raise StoreError(
                f"{gsp}: cannot tell this store's query and update URLs; "
                "give --query-url and --update-url"
            )

        def beside(name: str) -> str:
            return urlunsplit((parts.scheme, parts.netloc, f"{head}/{name}", "", ""))

        guessed = siblings or ("", "")
        return cls(gsp, query or beside(guessed[0]), update or beside(guessed[1]))


class _ChallengeAuth(httpx.Auth):
    """Answer the store's challenge: Digest (Virtuoso) or Basic; no header until asked."""

    requires_request_body = True

    def __init__(self, user: str, password: str) -> None:
        self._digest = httpx.DigestAuth(user, password)
        self._basic = httpx.BasicAuth(user, password)
        self._scheme: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "digest":
            yield from self._digest.auth_flow(request)
            return
        if self._scheme == "basic":
            yield from self._basic.auth_flow(request)
            return
        response = yield request
        challenge = response.headers.get("www-authenticate", "").lower()
        if response.status_code != 401 or not challenge:
            return
        self._scheme = "digest" if challenge.startswith("digest") else "basic"
        yield from self.auth_flow(request)


class TransientStoreError(StoreError):
    """The store is busy or restarting (429, 502, 503, 504): worth another try."""


def store_auth(settings: Settings) -> httpx.Auth | None:
    """The credentials of ``EMK_STORE_USER``/``EMK_STORE_PASSWORD``, if set."""
    if settings.store_user is None:
        return None
    return _ChallengeAuth(settings.store_user, settings.store_password or "")


def summary(response: httpx.Response, limit: int = 160) -> str:
    """The store's error body as one short line (Virtuoso answers in HTML)."""
    return one_line(response.text, limit)


def one_line(body: str, limit: int = 160) -> str:
    """An error body as one short line of text: tags dropped, whitespace collapsed, cut."""
    text = html.unescape(_TAGS.sub(" ", body))
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check(response: httpx.Response, what: str, *, gsp: bool = False) -> httpx.Response:
    """Raise a one-line ``StoreError`` unless the store answered 2xx.

    Raises:
        TransientStoreError: the store is busy (429, 502, 503, 504).
        StoreError: refused credentials, no GSP at the URL (``gsp``), a full disk, or any
            other error status, with the store's own message.
    """
    code = response.status_code
    if code < 300:
        return response
    url = str(response.request.url.copy_with(query=None))
    if code in REFUSED:
        raise StoreError(
            f"{url}: the store refused the credentials (HTTP {code}); "
            "check EMK_STORE_USER and EMK_STORE_PASSWORD"
        )
    body = summary(response)
    if code in TRANSIENT or _BUSY.search(body):
        raise TransientStoreError(f"{url}: {what} failed (HTTP {code}, store busy): {body}")
    if code == 507 or _DISK_FULL.search(body):
        raise StoreError(f"{url}: the store is out of disk space (HTTP {code}): {body}")
    if gsp and code in NO_GSP:
        raise StoreError(
            f"{url}: this URL does not take SPARQL Graph Store Protocol writes (HTTP {code}); "
            "give the store's GSP URL"
        )
    raise StoreError(f"{url}: {what} failed (HTTP {code}): {body}")


def unreachable(url: str, exc: httpx.TransportError) -> StoreError:
    """A transport failure as one line (connection refused, unknown host, timeout…)."""
    reason = str(exc) or type(exc).__name__
    return StoreError(f"{url}: cannot reach the store: {reason}")


class StoreClient:
    """A blocking client of one store: GSP writes, SELECT/CONSTRUCT/ASK reads, updates.

    ``retries`` and ``backoff_s`` govern transient failures (connection lost, 429/502/503/504):
    each call is tried up to ``1 + retries`` times, sleeping ``backoff_s``, then twice that…
    """

    def __init__(
        self,
        urls: StoreUrls,
        settings: Settings,
        *,
        timeout_s: float = 120.0,
        retries: int = 4,
        backoff_s: float = 0.5,
    ) -> None:
        self.urls = urls
        self.retries, self.backoff_s = retries, backoff_s
        self._http = httpx.Client(
            auth=store_auth(settings), timeout=timeout_s, trust_env=False, follow_redirects=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put_graph(self, graph: str, ntriples: bytes) -> None:
        """Replace ``graph`` with the N-Triples given (GSP PUT)."""
        self._gsp("PUT", graph, ntriples)

    def post_graph(self, graph: str, ntriples: bytes) -> None:
        """Add the N-Triples given to ``graph`` (GSP POST)."""
        self._gsp("POST", graph, ntriples)

    def delete_graph(self, graph: str) -> None:
        """Drop ``graph`` (GSP DELETE); a graph already gone is not an error."""

        def send() -> None:
            response = self._http.delete(self.urls.gsp, params={"graph": graph})
            if response.status_code != 404:
                check(response, f"deleting graph <{graph}>", gsp=True)

        self._retrying(self.urls.gsp, send)

    def select(self, query: str) -> list[dict[str, Term]]:
        """Run a SELECT; each row maps variable name to term (unbound variables left out)."""
        body = self._query(query, SPARQL_JSON)
        solutions = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        return [
            {n: t for n, t in zip(names, row, strict=True) if t is not None} for row in solutions
        ]

    def construct(self, query: str) -> list[ox.Triple]:
        """Run a CONSTRUCT and return its triples."""
        body = self._query(query, NTRIPLES)
        return [q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]

    def software(self) -> str:
        """The store's ``Server`` header (e.g. ``Virtuoso/07.20.3229``), from an empty ASK."""

        def send() -> str:
            response = self._http.post(
                self.urls.query, data={"query": "ASK {}"}, headers={"Accept": SPARQL_JSON}
            )
            return str(check(response, "the query").headers.get("server", ""))

        return self._retrying(self.urls.query, send)

    def update(self, update: str) -> None:
        """Run one SPARQL Update request."""

        def send() -> None:
            response = self._http.post(self.urls.update, data={"update": update})
            check(response, "the update")

        self._retrying(self.urls.update, send)

    def _gsp(self, method: str, graph: str, ntriples: bytes) -> None:
        def send() -> None:
            response = self._http.request(
                method,
                self.urls.gsp,
                params={"graph": graph},
                content=ntriples,
                headers={"Content-Type": NTRIPLES},
            )
            check(response, f"writing graph <{graph}>", gsp=True)

        self._retrying(self.urls.gsp, send)

    def _query(self, query: str, accept: str) -> bytes:
        def send() -> bytes:
            response = self._http.post(
                self.urls.query, data={"query": query}, headers={"Accept": accept}
            )
            return check(response, "the query").content

        return self._retrying(self.urls.query, send)

    def _retrying(self, url: str, send: Callable[[], T]) -> T:
        """``send``, again after a backoff while the failure is transient and tries remain."""
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                return send()
            except httpx.TransportError as exc:
                if last:
                    raise unreachable(url, exc) from exc
                log.warning("store at %s: %s; retrying in %.1f s", url, exc, delay)
            except TransientStoreError as exc:
                if last:
                    raise
                log.warning("%s; retrying in %.1f s", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")  # the loop returns or raises
