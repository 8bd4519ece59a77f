"""Render time of every instance page (HTML), in process: p50, p90, p99 and the slowest pages.

Builds the app over a release (``--dist``, default dist/) and requests ``/id/…`` for every
instance IRI (``bench/instance_iris.rq``) through an in-process ASGI client, so the numbers are
the app's own work (queries, view building, Jinja) without network or server overhead. The
first pass warms caches; ``--rounds`` passes are measured.

    .venv/bin/python bench/pages_render.py --dist dist --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx

from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine
from migration_kg.web import create_app

BENCH = Path(__file__).resolve().parent
BASE = "https://w3id.org/eu-migration-kg/"


async def measure(dist: Path, rounds: int) -> None:
    settings = Settings.from_env(dist_dir=dist)
    engine = QueryEngine.from_release(settings)
    started = time.perf_counter()
    app = create_app(settings, engine)
    print(f"app built (search index, catalogue) in {(time.perf_counter() - started) * 1000:.0f} ms")
    rows = engine.query((BENCH / "instance_iris.rq").read_text(), row_cap=1_000_000).rows
    paths = ["/" + str(iri)[len(BASE) :] for (iri,) in rows if iri]
    transport = httpx.ASGITransport(app=app)
    headers = {"Accept": "text/html"}
    timings: list[tuple[float, str]] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for round_ in range(rounds + 1):
            for path in paths:
                start = time.perf_counter()
                response = await client.get(path, headers=headers)
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {response.status_code}")
                if round_:  # round 0 warms up
                    timings.append((elapsed, path))
    values = sorted(t for t, _ in timings)
    cuts = statistics.quantiles(values, n=100)
    print(f"{len(paths)} instance pages x {rounds} rounds")
    quantiles = f"p50 {cuts[49]:.1f} ms  p90 {cuts[89]:.1f} ms  p99 {cuts[98]:.1f} ms"
    print(f"{quantiles}  max {values[-1]:.1f} ms")
    for elapsed, path in sorted(timings, reverse=True)[:5]:
        print(f"  slowest: {elapsed:.1f} ms {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=Path("dist"))
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(measure(args.dist, args.rounds))


if __name__ == "__main__":
    main()
