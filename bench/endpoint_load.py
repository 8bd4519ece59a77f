"""Bounded load test of the SPARQL endpoint: a lookup and an aggregate at several concurrencies.

Starts ``migration-kg serve`` on a free 127.0.0.1 port over a built release (``--dist``, default
dist/), waits for /health, fires a fixed number of requests per (query, concurrency) pair with
httpx/asyncio, prints requests/s, p50 and p99, and stops the server it started. Never sends
traffic anywhere but 127.0.0.1.

    .venv/bin/python bench/endpoint_load.py --dist dist --requests 400 --concurrency 1 16
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
QUERIES = {"lookup": BENCH / "endpoint_lookup.rq", "aggregate": BENCH / "endpoint_aggregate.rq"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(dist: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EMK_DIST_DIR": str(dist), "EMK_PORT": str(port)}
    env["PYTHONPATH"] = str(BENCH.parent / "src") + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, "-c", "from migration_kg.cli import main; main()", "serve"]
    process = subprocess.Popen([*command, "--port", str(port)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", trust_env=False).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("server did not become healthy within 60 s")


async def run_level(url: str, query: str, requests: int, concurrency: int) -> dict[str, float]:
    """Send ``requests`` GETs with ``concurrency`` workers; latencies in milliseconds."""
    latencies: list[float] = []
    remaining = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"accept": "application/sparql-results+json"}
    async with httpx.AsyncClient(limits=limits, trust_env=False, timeout=30) as client:

        async def worker() -> None:
            for _ in remaining:
                start = time.perf_counter()
                response = await client.get(url, params={"query": query}, headers=headers)
                latencies.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=BENCH.parent / "dist")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    port = free_port()
    server = start_server(args.dist, port)
    url = f"http://127.0.0.1:{port}/sparql"
    try:
        print(f"{'query':<10} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for name, path in QUERIES.items():
            query = path.read_text(encoding="utf-8")
            asyncio.run(run_level(url, query, 20, 4))  # warm-up, not reported
            for concurrency in args.concurrency:
                r = asyncio.run(run_level(url, query, args.requests, concurrency))
                cells = f"{r['rps']:>8.1f} {r['p50']:>8.2f} {r['p99']:>8.2f}"
                print(f"{name:<10} {concurrency:>4} {cells}")
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
