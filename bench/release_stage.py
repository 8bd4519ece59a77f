"""Time the release stage alone (assemble + write) for one or more project roots.

Why: the release must stay a small part of a build (≤ 2.5 s at 100k quads, ≤ 60 s at 1M), and
a full build hides it behind loading, validation and reasoning. This loads the sources, skips
validation (an empty report), optionally reasons (``--reason``, to get a realistic ``inferred``
graph, ~40 % of the asserted size), then times ``assemble()`` and ``write_release()`` and prints
the seconds spent on each artefact (from the release module's log lines) and the peak RSS.

    .venv/bin/python bench/synthetic.py --triples 100000 --out /tmp/emk-100k-rel
    .venv/bin/python bench/release_stage.py . /tmp/emk-100k-rel --reason

Each root is measured in a process of its own (peak RSS is per process). CPU seconds are
printed next to wall seconds: on a busy machine they are the steadier figure.
"""

from __future__ import annotations

import argparse
import logging
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rdflib import Graph

from migration_kg.build.loading import SourceKind, load_sources
from migration_kg.build.reasoning import infer
from migration_kg.build.release import assemble, write_release
from migration_kg.build.validation import ValidationReport
from migration_kg.core.settings import Settings

T = TypeVar("T")


class _Steps(logging.Handler):
    """Seconds between consecutive log lines of the release module: one step per line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.marks: list[tuple[str, float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.marks.append((record.getMessage(), time.perf_counter(), time.process_time()))

    def steps(self, end: tuple[float, float]) -> list[tuple[str, float, float]]:
        """(message, wall seconds, CPU seconds) from each mark to the next (or to ``end``)."""
        ends = [(wall, cpu) for _, wall, cpu in self.marks[1:]] + [end]
        return [
            (msg, stop[0] - wall, stop[1] - cpu)
            for (msg, wall, cpu), stop in zip(self.marks, ends, strict=True)
        ]


def _peak_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, steps: _Steps, call: Callable[[], T]) -> T:
    """Run ``call``; print its wall and CPU seconds and those of each logged step."""
    steps.marks.clear()
    start, start_cpu = time.perf_counter(), time.process_time()
    value = call()
    end = (time.perf_counter(), time.process_time())
    print(f"  {label:<40} {end[0] - start:7.2f} s  (cpu {end[1] - start_cpu:6.2f} s)")
    for message, wall, cpu in steps.steps(end):
        print(f"    {message:<38} {wall:7.3f} s  (cpu {cpu:6.3f} s)")
    return value


def run(root: Path, reason: bool) -> None:
    """Load ``root``, then time the release stage into a throw-away dist/."""
    print(f"{root}")
    settings = Settings(root=root.resolve())
    start = time.perf_counter()
    sources = load_sources(settings)
    print(f"  load {time.perf_counter() - start:.2f} s, peak {_peak_mib():.0f} MiB")
    inferred = Graph()
    if reason:
        start = time.perf_counter()
        asserted = sources.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)
        inferred = infer(asserted, settings.reasoner).inferred
        del asserted
        print(f"  reason {time.perf_counter() - start:.2f} s ({len(inferred)} inferred)")
    report = ValidationReport(results=(), shapes_files=0, graph=Graph())
    print(f"  peak RSS before the release {_peak_mib():.0f} MiB")
    steps = _Steps()
    logger = logging.getLogger("migration_kg.build.release")
    logger.addHandler(steps)
    logger.setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="emk-release-bench-") as tmp:
        release_start = time.perf_counter()
        content = _timed("assemble", steps, lambda: assemble(sources, inferred, report))
        paths = _timed("write_release", steps, lambda: write_release(content, Path(tmp) / "dist"))
        total = time.perf_counter() - release_start
        size = sum(p.stat().st_size for p in paths) / 2**20
    logger.removeHandler(steps)
    quads = sum(len(lines) for lines in content.lines.values())
    print(f"  release total {total:.2f} s for {quads} quads, {size:.1f} MiB written")
    print(f"  peak RSS {_peak_mib():.0f} MiB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path, help="project roots (ontology/, data/)")
    parser.add_argument("--reason", action="store_true", help="reason first (realistic inferred)")
    args = parser.parse_args(argv)
    if len(args.roots) == 1:
        run(args.roots[0], args.reason)
        return
    for root in args.roots:  # one process per root, so that each peak RSS is its own
        flags = ["--reason"] if args.reason else []
        subprocess.run([sys.executable, __file__, str(root), *flags], check=True)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
