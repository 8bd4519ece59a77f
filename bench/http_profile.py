"""Repeatable HTTP profile of the SPARQL endpoint with wrk: lookup and aggregate, c=1 and c=16.

Starts a server on a free 127.0.0.1 port over a built release (``--dist``), runs ``wrk`` for each
(query, concurrency) pair, prints req/s, p50, p99, max, errors and the server's CPU time per
request (all its processes, from /proc: steadier than req/s on a shared machine), and stops the
server. The server is ours (``migration-kg serve``; ``--workers``, ``--cache``) or, with
``--oxigraph PATH``, Oxigraph's own in-memory server loaded with the release's N-Quads over
loopback, for comparison.
The result cache is off unless ``--cache`` is given, so numbers are cold unless asked otherwise.
Never sends traffic anywhere but 127.0.0.1; every run is bounded by ``--duration``.

    .venv/bin/python bench/http_profile.py --dist /tmp/emk-100k/dist --duration 10
    .venv/bin/python bench/http_profile.py --dist /tmp/emk-100k/dist --oxigraph /tmp/ox/bin/oxigraph
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
AGGREGATE = (
    "SELECT ?class (COUNT(?s) AS ?instances) WHERE { ?s a ?class } "
    "GROUP BY ?class ORDER BY DESC(?instances) ?class"
)
FIRST_LABELLED = f"SELECT ?s WHERE {{ ?s <{LABEL}> ?l }} ORDER BY ?s LIMIT 1 OFFSET 100"
JSON_RESULTS = "application/sparql-results+json"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def free_port() -> int:
    """A port the kernel says is free on 127.0.0.1 (bind to 0, read it back)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str, accept: str = JSON_RESULTS, data: bytes | None = None, ctype: str = "") -> bytes:
    """One loopback request without proxies (urllib, so the bench needs no extra package)."""
    request = urllib.request.Request(url, data=data, headers={"Accept": accept})
    if ctype:
        request.add_header("Content-Type", ctype)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=600) as response:
        body: bytes = response.read()
        return body


def wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 300) -> None:
    """Poll ``url`` until it answers; fail fast if the server process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            get(url, accept="*/*")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"server not healthy within {seconds:g} s")


@contextmanager
def emk_server(dist: Path, workers: int, cache: bool) -> Iterator[tuple[str, int]]:
    """``migration-kg serve`` over ``dist``; yields the /sparql URL and pid, stops it after."""
    port = free_port()
    env = {**os.environ, "EMK_DIST_DIR": str(dist)}
    entry = "from migration_kg.cli import main; main()"
    command = [sys.executable, "-c", entry, "serve", "--port", str(port)]
    command += ["--workers", str(workers)] if workers else []
    command += ["--cache"] if cache else []
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", process)
        yield f"http://127.0.0.1:{port}/sparql", process.pid
    finally:
        stop(process)


@contextmanager
def oxigraph_server(binary: str, dist: Path) -> Iterator[tuple[str, int]]:
    """Oxigraph's in-memory server (union default graph), loaded with ``emk.nq`` over HTTP."""
    port = free_port()
    command = [binary, "serve", "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(f"{base}/query?query=ASK%7B%7D", process)
        get(f"{base}/store", "*/*", (dist / "emk.nq").read_bytes(), "application/n-quads")
        yield f"{base}/query", process.pid
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 20 s: the server must not outlive the bench."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def lookup_query(endpoint: str) -> str:
    """A one-row label lookup of a subject taken from the served data itself."""
    answer = json.loads(get(f"{endpoint}?{urllib.parse.urlencode({'query': FIRST_LABELLED})}"))
    iri = answer["results"]["bindings"][0]["s"]["value"]
    return f"SELECT ?label WHERE {{ <{iri}> <{LABEL}> ?label }}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and all its descendants (Linux /proc), in seconds."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def wrk(url: str, concurrency: int, duration: int, pid: int) -> dict[str, float]:
    """Run wrk with ``--latency``: req/s, p50, p99, max (ms), errors, server CPU ms per request."""
    threads = str(min(2, concurrency))
    command = ["wrk", "-t", threads, "-c", str(concurrency), "-d", f"{duration}s", "--latency"]
    command += ["-H", f"Accept: {JSON_RESULTS}", url]
    before = cpu_seconds(pid)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    spent = cpu_seconds(pid) - before
    numbers = parse_wrk(out)
    served = numbers["rps"] * duration
    numbers["cpu_ms"] = 1000 * spent / served if served else float("nan")
    return numbers


def parse_wrk(out: str) -> dict[str, float]:
    """The numbers of wrk's text report (latencies converted to milliseconds)."""

    def latency(pattern: str) -> float:
        found = re.search(pattern + r"\s+([\d.]+)(us|ms|s|m)\s", out)
        return float(found.group(1)) * _UNITS[found.group(2)] if found else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": latency(r"\n\s+50%"),
        "p99": latency(r"\n\s+99%"),
        "max": latency(r"Latency\s+\S+\s+\S+"),
        "errors": (int(non2xx.group(1)) if non2xx else 0)
        + (sum(int(n) for n in errors.groups()) if errors else 0),
    }


def profile(
    endpoint: str, pid: int, names: list[str], levels: list[int], duration: int
) -> list[dict[str, object]]:
    """wrk every (query, concurrency) pair against ``endpoint``; one row per pair."""
    queries = {"lookup": lookup_query(endpoint), "aggregate": AGGREGATE}
    rows: list[dict[str, object]] = []
    for name in names:
        text = queries[name]
        url = f"{endpoint}?{urllib.parse.urlencode({'query': text})}"
        get(url)  # warm up (and fail loudly if the query does not run)
        for concurrency in levels:
            numbers = wrk(url, concurrency, duration, pid)
            rows.append({"query": name, "c": concurrency, **numbers})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=BENCH.parent / "dist")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument(
        "--queries", nargs="+", choices=["lookup", "aggregate"], default=["lookup", "aggregate"]
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=0, help="server processes (0: default)")
    parser.add_argument("--cache", action="store_true", help="turn the result cache on")
    parser.add_argument("--oxigraph", help="path of the `oxigraph` binary: profile it instead")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    server = (
        oxigraph_server(args.oxigraph, args.dist)
        if args.oxigraph
        else emk_server(args.dist, args.workers, args.cache)
    )
    with server as (endpoint, pid):
        rows = profile(endpoint, pid, args.queries, args.concurrency, args.duration)
    header = f"{'query':<10} {'c':>3} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(f"{header} {'cpu ms/req':>10} errors")
    for row in rows:
        print(
            f"{row['query']:<10} {row['c']:>3} {row['rps']:>9.0f} {row['p50']:>8.2f}"
            f" {row['p99']:>8.2f} {row['max']:>8.2f} {row['cpu_ms']:>10.3f} {row['errors']}"
        )


if __name__ == "__main__":
    main()
