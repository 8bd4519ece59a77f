"""The thread stack pyoxigraph needs for the deepest queries the intake limits admit.

For every construct of tests/web/deep_queries.py that recurses, the query at the largest size
the limits admit is run in a child process on a thread of a given stack size; a bisection finds
the smallest stack on which it parses, plans, evaluates and is freed without the child dying
(SIGSEGV). Printed per construct: its size, nesting and depth, the smallest stack, the bytes per
depth level, and the margin of the engine's evaluation stack over it. Exit 1 if any construct
needs more than the engine gives it. The same for half the limit gives the slope per level.

    .venv/bin/python bench/intake_stack.py                  # every construct, default limits
    .venv/bin/python bench/intake_stack.py --only groups,collection
    EMK_MAX_QUERY_DEPTH=512 .venv/bin/python bench/intake_stack.py
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))

from deep_queries import CONSTRUCTS, admitted, run_on_thread, tiny_store

from migration_kg.core.settings import Settings
from migration_kg.serve.intake import QueryLimits, measure_query

KIB = 1024
FLOOR_KIB = 64  # below this, Python's own frames are the problem, not the query


def run_child(name: str, n: int, stack_kib: int) -> None:
    """In the child: evaluate one query on a thread with ``stack_kib``; dying is the answer."""
    print(run_on_thread(tiny_store(), CONSTRUCTS[name](n), stack_kib))


def survives(name: str, n: int, stack_kib: int, timeout: float) -> tuple[bool, str, float]:
    """(no crash, the child's last line, seconds) for one run."""
    started = time.perf_counter()
    command = [sys.executable, __file__, "--child", name, str(n), str(stack_kib)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return True, "timeout (not a crash)", timeout
    seconds = time.perf_counter() - started
    if done.returncode < 0:
        return False, f"killed by signal {-done.returncode}", seconds
    return True, (done.stdout.strip().splitlines() or ["?"])[-1], seconds


def smallest_stack(name: str, n: int, ceiling_kib: int, timeout: float) -> tuple[int | None, str]:
    """The smallest stack (KiB, to 16 KiB) on which the query survives, and how the run at the
    ceiling ended (with its time)."""
    ok, note, seconds = survives(name, n, ceiling_kib, timeout)
    note = f"{note} in {seconds:.2f} s"
    if not ok:
        return None, note
    low, high = FLOOR_KIB, ceiling_kib  # high survives
    if survives(name, n, low, timeout)[0]:
        return low, note
    while high - low > 16:
        middle = (low + high) // 2
        low, high = (low, middle) if survives(name, n, middle, timeout)[0] else (middle, high)
    return high, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated construct names")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per child run")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    limits = QueryLimits.from_settings(Settings.from_env())
    ceiling_kib = limits.stack_bytes // KIB
    names = args.only.split(",") if args.only else list(CONSTRUCTS)
    print(
        f"limits: nesting {limits.max_nesting}, depth {limits.max_depth}; "
        f"evaluation stack {ceiling_kib} KiB; pyoxigraph {ox.__version__}"
    )
    print(
        f"{'construct':20} {'n':>5} {'nest':>4} {'depth':>5} {'need KiB':>8} "
        f"{'B/level':>7} {'half KiB':>8} {'slope B':>7} {'margin':>6}  outcome"
    )
    failed = []
    for name in names:
        n = admitted(CONSTRUCTS[name], limits)
        shape = measure_query(CONSTRUCTS[name](n))
        need, note = smallest_stack(name, n, ceiling_kib, args.timeout)
        if need is None:
            failed.append(name)
            print(f"{name:20} {n:5} {shape.nesting:4} {shape.depth:5} CRASHES at {ceiling_kib} KiB")
            continue
        half_n = max(1, n // 2)
        half_depth = measure_query(CONSTRUCTS[name](half_n)).depth
        half, _ = smallest_stack(name, half_n, ceiling_kib, args.timeout)
        slope = (need - (half or 0)) * KIB / max(1, shape.depth - half_depth)
        print(
            f"{name:20} {n:5} {shape.nesting:4} {shape.depth:5} {need:8} "
            f"{need * KIB / shape.depth:7.0f} {half:8} {slope:7.0f} "
            f"{ceiling_kib / need:5.1f}x  {note}"
        )
    if failed:
        print(f"FAILED: {', '.join(failed)} need more than {ceiling_kib} KiB")
        sys.exit(1)


if __name__ == "__main__":
    main()
