"""CPU and latency per cheap lookup: evaluator processes against in-thread evaluation, same run.

Engine only (no HTTP): two engines over one release, one evaluating in evaluator processes, one
in a worker thread; rounds alternate between them so that machine load hits both alike. CPU is
summed over this process and its children (the evaluators) from /proc.

    .venv/bin/python bench/evaluation_cost.py [--dist dist] [--queries 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from migration_kg.core.formats import ResultFormat
from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine

LOOKUP = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT ?label WHERE "
    "{ <https://w3id.org/eu-migration-kg/id/org/european-commission> rdfs:label ?label }"
)


def tree_cpu_s(pid: int) -> float:
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


async def timed(engine: QueryEngine, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await engine.answer_async(LOOKUP, lambda offered: ResultFormat.JSON)
        latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=Path("dist"))
    parser.add_argument("--queries", type=int, default=3000)
    args = parser.parse_args()
    engines = {
        mode: QueryEngine.from_release(Settings(dist_dir=args.dist, evaluation=mode, evaluators=1))
        for mode in ("process", "thread")
    }
    engines["thread"].parallelism = 1
    engines["process"].start()
    cpu: dict[str, float] = dict.fromkeys(engines, 0.0)
    latencies: dict[str, list[float]] = {mode: [] for mode in engines}
    rounds, per_round = 6, max(1, args.queries // 6)
    for _ in range(rounds):
        for mode, engine in engines.items():
            before = tree_cpu_s(os.getpid())
            latencies[mode] += asyncio.run(timed(engine, per_round))
            cpu[mode] += tree_cpu_s(os.getpid()) - before
    for mode in engines:
        lat = sorted(latencies[mode])
        print(
            f"{mode:8} CPU {cpu[mode] / len(lat) * 1e6:7.0f} us/query (all processes)  "
            f"median {statistics.median(lat) * 1e6:7.0f} us  "
            f"p90 {lat[int(0.9 * len(lat))] * 1e6:7.0f} us"
        )
    engines["process"].close()


if __name__ == "__main__":
    main()
