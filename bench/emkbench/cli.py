"""Command line of the harness: parse options, run each size, write and print the results."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

from emkbench import machine, report, runner, servers
from emkbench.paths import DEFAULT_CACHE, DEFAULT_OUT, QUERIES_FILE, parse_size
from emkbench.queries import KINDS

SMOKE = {"sizes": "real", "duration": 1, "concurrency": "1,16"}


def _csv(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Benchmark the project's SPARQL server against Oxigraph and rdflib-endpoint "
        "on the same data (127.0.0.1 only).",
    )
    p.add_argument("--sizes", default="real,100k,1m", help="real and/or 20k, 100k, 1m, …")
    p.add_argument("--duration", type=int, default=10, help="seconds of wrk per point")
    p.add_argument("--concurrency", default="1,16", help="connections per point, comma-separated")
    p.add_argument("--servers", default=",".join(servers.SERVERS), help="servers to measure")
    p.add_argument("--kinds", default=",".join(KINDS), help="query kinds to time")
    p.add_argument("--queries", type=Path, default=QUERIES_FILE, help="query selection (TOML)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where results.* are written")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="built editions kept here")
    p.add_argument("--rebuild", action="store_true", help="build even if a cached dist matches")
    p.add_argument(
        "--smoke", action="store_true", help="real size, 1 s points, servers loaded at once"
    )
    p.add_argument(
        "--parallel", action="store_true", help="load all servers at once (implied by --smoke)"
    )
    p.add_argument("--timeout", type=float, default=10.0, help="wrk and server query timeout, s")
    p.add_argument("--startup-timeout", type=float, default=1800.0, help="most seconds to load")
    p.add_argument(
        "--slow-limit", type=float, default=10.0, help="don't time a query slower than this, s"
    )
    p.add_argument(
        "--check-timeout", type=float, default=120.0, help="longest wait for the count check, s"
    )
    p.add_argument(
        "--emk-workers", type=int, default=os.cpu_count() or 1, help="if serve has --workers"
    )
    p.add_argument(
        "--emk-row-cap",
        type=int,
        default=1_000_000,
        help="emk's --row-cap (its default truncates large answers the peers send whole; 0: "
        "keep the server's default)",
    )
    p.add_argument("--no-cache-series", action="store_true", help="skip the emk cache-on series")
    p.add_argument(
        "--thread-series",
        action="store_true",
        help="also time emk-thread (emk evaluating in threads: the cost of killable evaluators)",
    )
    p.add_argument(
        "--hostile",
        action="store_true",
        help="after the points, the hostile mix: 16 never-ending queries + 16 lookup clients",
    )
    p.add_argument("--hostile-duration", type=int, default=30, help="seconds per mix phase")
    p.add_argument(
        "--hostile-servers",
        default="emk,emk-thread,oxigraph-mem",
        help="servers put through the hostile mix",
    )
    return p


def options_from(argv: list[str] | None) -> runner.Options:
    args = parser().parse_args(argv)
    if args.smoke:
        defaults = parser().parse_args([])
        for key, value in SMOKE.items():
            if getattr(args, key) == getattr(defaults, key):
                setattr(args, key, value)
    sizes = _csv(args.sizes)
    for size in sizes:
        parse_size(size)  # fail early on a typo, before an hour of building
    unknown = set(_csv(args.servers)) - set(servers.SERVERS)
    if unknown or set(_csv(args.kinds)) - set(KINDS):
        parser().error(f"unknown server or kind: {sorted(unknown) or _csv(args.kinds)}")
    return runner.Options(
        sizes=sizes,
        duration_s=max(1, args.duration),
        concurrency=tuple(int(c) for c in _csv(args.concurrency)),
        servers=_csv(args.servers),
        kinds=_csv(args.kinds),
        out=args.out.resolve(),
        cache=args.cache.resolve(),
        queries_file=args.queries.resolve(),
        smoke=args.smoke,
        rebuild=args.rebuild,
        parallel=args.parallel or args.smoke,
        timeout_s=args.timeout,
        startup_timeout_s=args.startup_timeout,
        slow_limit_s=args.slow_limit,
        check_timeout_s=args.check_timeout,
        emk_workers=args.emk_workers,
        cache_series=not args.no_cache_series,
        emk_row_cap=args.emk_row_cap,
        thread_series=args.thread_series,
        hostile=args.hostile,
        hostile_duration_s=max(1, args.hostile_duration),
        hostile_servers=_csv(args.hostile_servers),
    )


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` stops the servers it started."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    # Ctrl-C must unwind too, even when started from a shell that ignores SIGINT for its
    # background jobs (Python then inherits SIG_IGN and would never raise KeyboardInterrupt).
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str] | None = None) -> int:
    """Run every size; exit 1 if anything makes the comparison doubtful (listed at the end)."""
    options = options_from(argv)
    _stop_on_sigterm()
    try:
        return _run(options)
    except KeyboardInterrupt as exc:
        why = str(exc) or "Ctrl-C"
        print(f"interrupted ({why}): every server started was stopped", file=sys.stderr)
        return 130


def _run(options: runner.Options) -> int:
    results: dict[str, Any] = {
        "machine": machine.describe(),
        "options": {k: _plain(v) for k, v in dataclasses.asdict(options).items()},
        "setup": servers.describe_setup(),
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="emk-bench-") as tmp:
        for size in options.sizes:
            results["sizes"].append(runner.run_size(size, options, Path(tmp)))
            report.write_all(results, options.out)
    print(report.printed(results))
    print(f"\nwrote {options.out}/results.json, results.md, results.png")
    return 1 if report.problems(results) else 0


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


if __name__ == "__main__":
    sys.exit(main())
