"""The edge fuzz for longer: grammar-built hostile requests against a real ``migration-kg serve``.

The test suite runs tests/web/test_edge_fuzz.py with a fixed seed and 2 x 120 requests; this
runs as many rounds as asked, each from its own seed, against the same server, and prints per
round the statuses, the commonest refusals, the supervisor's restart count and the workers'
memory (PSS). Exit 1 on any failure: a dropped connection, a 5xx, a worker restart, or memory
that keeps growing (the last round ending over 15 % above the second).

    .venv/bin/python bench/fuzz_edges.py                       # 10 rounds of 500, fixture data
    .venv/bin/python bench/fuzz_edges.py --rounds 40 --examples 1000 --seed 7
    .venv/bin/python bench/fuzz_edges.py --dist dist           # the built release instead

The server runs with glibc's thresholds fixed (see test_edge_fuzz.py) unless --glibc-defaults.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))

from edge_fuzz import Outcome, Server, fuzz, summary
from test_edge_fuzz import FIXED_MALLOC, GROWTH
from web_support import write_release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--examples", type=int, default=500, help="requests per round")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first round")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dist", type=Path, help="a built release (default: the fixture)")
    parser.add_argument("--glibc-defaults", action="store_true", help="keep malloc's defaults")
    args = parser.parse_args()
    dist = args.dist or write_release(Path(tempfile.mkdtemp()) / "release")
    server = Server(dist, args.workers, env={} if args.glibc_defaults else FIXED_MALLOC)
    problems: list[str] = []
    memory = [server.memory_kib()]
    print(f"server {server.url}, workers {sorted(server.workers())}, idle PSS {memory[0]} KiB")
    try:
        for number in range(args.rounds):
            outcome, started = Outcome(), time.monotonic()
            fuzz(server.url, args.examples, outcome, seed_value=args.seed + number)
            time.sleep(1)
            memory.append(server.memory_kib())
            restarts = server.restarts()
            print(f"\nround {number + 1} (seed {args.seed + number}, "
                  f"{time.monotonic() - started:.0f} s): restarts {restarts}, "
                  f"PSS {memory[-1]} KiB")  # fmt: skip
            print(summary(outcome, reasons=8))
            problems += outcome.failures
            if restarts:
                problems.append(f"{restarts} worker restarts after round {number + 1}")
    finally:
        server.stop()
    if len(memory) > 3 and memory[-1] > memory[2] * GROWTH:
        problems.append(f"memory kept growing: {memory[2]} KiB after round 2, {memory[-1]} now")
    print("\n" + ("\n".join(problems) if problems else "no failures"))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
