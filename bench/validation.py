"""Validation benchmark: stock pySHACL against the build's patched run, per project root.

What the build's validation stage spends, and what its library patches
(``build/validation/patches/``) buy: for each root (the checkout, or a synthetic edition made
by ``bench/synthetic.py``), pySHACL runs over ontology + data + links against shapes/ with the
build's options three ways — stock pySHACL in one process, patched in one process (the patch
effect alone), and the build's own ``validate_sources`` with ``--workers`` processes — each in
a forked child of its own, so no run warms a cache for the next. The results of the runs are
compared (the same number of results; the tests compare them in full).

    .venv/bin/python bench/validation.py .
    .venv/bin/python bench/synthetic.py --triples 100000 --out /tmp/emk-100k
    .venv/bin/python bench/validation.py . /tmp/emk-100k --workers 2

Wall and CPU seconds are printed; on a busy machine CPU seconds are the steadier figure. This
is where the validation time is measured (tests/test_shapes.py no longer asserts one).
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.connection
import time
from pathlib import Path

from rdflib.namespace import RDF, SH

from migration_kg.build.loading import LoadedSources, SourceKind, load_sources
from migration_kg.build.validation import validate_sources
from migration_kg.build.validation.patches import library_patches
from migration_kg.build.validation.run import shacl_report
from migration_kg.core.settings import Settings

MODES = ("stock", "patched", "build")


def _results(sources: LoadedSources, mode: str, workers: int) -> int:
    """Validate once in ``mode``; the number of validation results."""
    if mode == "build":
        return len(validate_sources(sources, workers=workers).results)
    data = sources.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)
    shapes = sources.union(SourceKind.SHAPES)
    if mode == "patched":
        with library_patches():
            report = shacl_report(data, shapes)
    else:
        report = shacl_report(data, shapes)
    return len(set(report.subjects(RDF.type, SH.ValidationResult)))


def _measure(
    sources: LoadedSources, mode: str, workers: int, out: multiprocessing.connection.Connection
) -> None:
    """In the child: one timed validation, figures sent back."""
    start, start_cpu = time.perf_counter(), time.process_time()
    results = _results(sources, mode, workers)
    out.send((time.perf_counter() - start, time.process_time() - start_cpu, results))


def run(root: Path, workers: int) -> None:
    """Load ``root`` once, then time each mode in a forked child."""
    sources = load_sources(Settings(root=root.resolve()))
    asserted = len(sources.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS))
    print(f"{root} ({asserted} asserted triples)")
    context = multiprocessing.get_context("fork")
    seconds: dict[str, tuple[float, float]] = {}  # wall, cpu
    counts: dict[str, int] = {}
    for mode in MODES:
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_measure, args=(sources, mode, workers, send))
        child.start()
        wall, cpu, counts[mode] = receive.recv()
        child.join()
        seconds[mode] = (wall, cpu)
        label = f"{mode} ({workers} workers)" if mode == "build" else f"{mode} (1 process)"
        note = "" if mode == "build" else f"  (cpu {cpu:6.2f} s)"  # the build's CPU is in workers
        print(f"  {label:<22} {wall:7.2f} s{note}  {counts[mode]} results")
    wall, cpu = (seconds["patched"][i] / seconds["stock"][i] for i in (0, 1))
    print(f"  patched ÷ stock: {wall:.2f} of the wall time, {cpu:.2f} of the CPU time")
    if len(set(counts.values())) != 1:
        raise SystemExit(f"  the runs disagree on the number of results: {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path, help="project roots (ontology/, data/)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the build's run")
    args = parser.parse_args()
    for root in args.roots:
        run(root, args.workers)


if __name__ == "__main__":
    main()
