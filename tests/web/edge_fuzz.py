"""The edge fuzz: grammar-built hostile requests against a real ``migration-kg serve``.

Shared by tests/web/test_edge_fuzz.py (fixed seed, bounded budget) and bench/fuzz_edges.py
(longer, any seed). The server is the CLI in its own process with forked workers, as users run
it, on 127.0.0.1 only. Each request must end in an HTTP response (no dropped connection) with a
status under 500; after the run the supervisor must report no worker restart, the workers must
be the same processes, and their memory must be back near where it was after a warm-up.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sparql_grammar import EX, ODD, edges, literals

REPO = Path(__file__).resolve().parents[2]
ACCEPTS = [
    "application/sparql-results+json", "text/csv", "text/turtle", "*/*", "text/html",
    "application/ld+json;q=0.5, text/*;q=0.1", "x/y", ";;;", "*/*;q=2", "a/b," * 2000,
]  # fmt: skip
GRAPHS = [f"{EX.replace('/id/', '/graph/')}data", "http://e/g", "not an iri", "http://e/a b",
          "http://e/" + "a" * 5000, "\u0000"]  # fmt: skip
_REASON = re.compile(r"\d+|'[^']*'|<[^>]*>")  # numbers, names and IRIs vary; the rest groups
# uvicorn (httptools) answers longer URLs 400 itself, and httpx will not build them.
_LONGEST_GET = 8_000
QUERY_IDS = ["central-med-tunisia-funding", "nope", "%00", "a" * 3000]


@dataclass(frozen=True)
class Request:
    """One request of the fuzz, and what kind of input it stresses (for the summary)."""

    kind: str
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    def __repr__(self) -> str:  # a 100 kB query must not flood a failure report
        return f"{self.kind} {self.method} {self.path} {self.params!r:.160} {self.body!r:.240}"


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """A /sparql request carrying an edge query, or a hostile value for another parser."""
    target = draw(st.sampled_from(["get", "form", "direct", "direct", "pages"]))
    accept = draw(st.one_of(st.none(), st.sampled_from(ACCEPTS)))
    headers = (("Accept", accept),) if accept is not None else ()
    if target == "pages":
        return draw(_page_requests(headers))
    query = draw(edges())
    graphs = draw(st.lists(st.tuples(st.sampled_from(["default-graph-uri", "named-graph-uri"]),
                                     st.sampled_from(GRAPHS)), max_size=2))  # fmt: skip
    params = tuple(graphs)
    if target == "get" and len(query) < _LONGEST_GET:
        return Request("sparql-get", "GET", "/sparql", (("query", query), *params), headers)
    if target == "form":
        body = urlencode([("query", query), *params]).encode()
        form = ("Content-Type", "application/x-www-form-urlencoded")
        return Request("sparql-form", "POST", "/sparql", (), (*headers, form), body)
    direct = ("Content-Type", "application/sparql-query")
    return Request("sparql-post", "POST", "/sparql", params, (*headers, direct), query.encode())


@st.composite
def _page_requests(draw: st.DrawFn, headers: tuple[tuple[str, str], ...]) -> Request:
    odd = ["a" * 300, "%ZZ", "a b", "<>", "x.ttl", "\\"]
    text = draw(st.one_of(literals(), st.sampled_from(ODD + odd), st.text(max_size=40)))
    page = draw(st.sampled_from(["search", "id", "ontology", "query-param"]))
    if page == "search":
        return Request("search", "GET", "/search", (("q", text),), headers)
    if page == "id":
        return Request("id", "GET", "/id/" + quote(text, safe="/%"), (), headers)
    if page == "ontology":
        return Request("ontology", "GET", "/ontology/" + quote(text, safe="%"), (), headers)
    query_id = draw(st.sampled_from(QUERY_IDS))
    return Request("named-query", "GET", f"/queries/{query_id}", (("country", text),), headers)


@dataclass
class Outcome:
    """What the fuzz saw: statuses by kind, and every failure (kept short)."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # 4xx messages, by their start
    failures: list[str] = field(default_factory=list)
    failed: list[Request] = field(default_factory=list)  # whole, to replay them
    sent: int = 0


class Server:
    """``migration-kg serve --workers N`` on a free 127.0.0.1 port over ``dist``; always stopped."""

    def __init__(self, dist: Path, workers: int = 2, env: dict[str, str] | None = None) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "EMK_DIST_DIR": str(dist), "PYTHONPATH": str(REPO / "src"),
                       **(env or {})}  # fmt: skip
        code = "from migration_kg.cli import main; main()"
        command = [sys.executable, "-c", code, "serve", "--port", str(self.port),
                   "--workers", str(workers)]  # fmt: skip
        self.process = subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 120
        while len(self.workers()) < workers or not self._healthy():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("migration-kg serve did not start")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/health", trust_env=False).status_code == 200
        except httpx.TransportError:
            return False

    def workers(self) -> set[int]:
        found: set[int] = set()
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            found |= {int(c) for c in (task / "children").read_text().split()}
        return found

    def restarts(self) -> int:
        """The supervisor's count, as /health reports it (any worker answers the same)."""
        body: dict[str, Any] = httpx.get(self.url + "/health", trust_env=False).json()
        return int(body["worker_restarts"])

    def memory_kib(self) -> int:
        """Proportional set size of the workers, in KiB (their shared pages counted fairly)."""
        total = 0
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        return total

    def stop(self) -> str:
        """Stop the server; return what it wrote to stderr (its log)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""


def send(client: httpx.Client, request: Request, outcome: Outcome) -> None:
    """Send one request; record its status, or why it is a failure."""
    outcome.sent += 1
    shown = repr(request)
    try:
        response = client.request(
            request.method, request.path, params=request.params, headers=request.headers,
            content=request.body,
        )  # fmt: skip
    except httpx.TransportError as exc:
        outcome.failures.append(f"no response ({type(exc).__name__}): {shown}")
        outcome.failed.append(request)
        return
    outcome.statuses[(request.kind, response.status_code)] += 1
    if 400 <= response.status_code < 500:
        outcome.reasons[_REASON.sub("…", response.text[:40]).strip()] += 1
    if response.status_code >= 500:
        outcome.failures.append(f"{response.status_code} {response.text[:120]!r}: {shown}")
        outcome.failed.append(request)


def fuzz(url: str, examples: int, outcome: Outcome, seed_value: int | None = None) -> None:
    """Send ``examples`` requests drawn by hypothesis: derandomized when ``seed_value`` is None
    (the same requests every run), else from that seed. Failures are collected, not raised,
    so that the run goes on and reports them all."""
    # A connection per request: the kernel spreads them over the workers (SO_REUSEPORT), so
    # that every worker sees every kind of request, not only the one holding a kept-alive
    # connection.
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    client = httpx.Client(base_url=url, timeout=60, trust_env=False, limits=no_keepalive)

    @settings(max_examples=examples, derandomize=seed_value is None, database=None,
              deadline=None, suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(requests())
    def one(request: Request) -> None:
        send(client, request, outcome)

    run = one if seed_value is None else seed(seed_value)(one)
    try:
        run()
    finally:
        client.close()


def summary(outcome: Outcome, reasons: int = 15) -> str:
    """Requests per kind and status, then the commonest refusals, one line each."""
    lines = [f"{outcome.sent} requests, {len(outcome.failures)} failures"]
    for (kind, status), count in sorted(outcome.statuses.items()):
        lines.append(f"  {kind:12} {status}  {count}")
    lines.append("commonest 4xx messages:")
    lines += [f"  {count:5}  {text}" for text, count in outcome.reasons.most_common(reasons)]
    return "\n".join(lines)
