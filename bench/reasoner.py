"""Reasoner benchmark: ``rules`` against ``owlrl`` on the real graph and on replicated copies.

The real graph is what the build reasons over (ontology + data + links). Bigger graphs repeat
the data k times, every IRI under ``…/id/`` of copy n suffixed ``-copyN`` (copy 0 is the
original), with the ontology and links once: same shape, k times the instances. owlrl runs only
up to ``--owlrl-max`` asserted triples (it needs ~40 s at 100k and does not finish at 1M).

Each (graph, reasoner) pair runs in a forked child process of its own, so memory figures are
its own and a run over ``--timeout`` can be killed. Memory is resident set size read from
/proc/self/status (Linux), not tracemalloc (which would slow the run several times): the peak
is VmHWM, reset just before ``infer()`` by writing 5 to /proc/self/clear_refs, so it is the
peak *during* reasoning (whole process, input graph included); "over input" is that peak minus
VmRSS just before ``infer()``: what reasoning and the inferred graph cost beyond the asserted
graph already in memory. Seconds time ``infer()`` only (building the input is not counted).

    .venv/bin/python bench/reasoner.py                          # real, ~100k, ~1M
    .venv/bin/python bench/reasoner.py --triples 100000 --owlrl-max 0
"""

from __future__ import annotations

import argparse
import gc
import math
import multiprocessing
import multiprocessing.connection
import time
from pathlib import Path

from rdflib import Graph, URIRef

from migration_kg.build.loading import SourceKind, load_sources
from migration_kg.build.reasoning import infer
from migration_kg.core.options import Reasoner
from migration_kg.core.settings import Settings

ID = "https://w3id.org/eu-migration-kg/id/"
ROOT = Path(__file__).resolve().parents[1]


def parts() -> tuple[Graph, Graph]:
    """The repository's (ontology + links, data) graphs, as the build loads them."""
    sources = load_sources(Settings(root=ROOT))
    return sources.union(SourceKind.ONTOLOGY, SourceKind.LINKS), sources.union(SourceKind.DATA)


def replicated(copies: int) -> Graph:
    """Ontology + links + ``copies`` copies of the data (copy n's ``…/id/`` IRIs get ``-copyN``)."""
    schema, data = parts()
    graph = Graph(bind_namespaces="none")
    graph += schema
    graph += data
    for n in range(1, copies):
        suffix = f"-copy{n}"
        for triple in data:
            graph.add(tuple(  # type: ignore[arg-type]
                URIRef(t + suffix) if isinstance(t, URIRef) and t.startswith(ID) else t
                for t in triple
            ))  # fmt: skip
    return graph


def copies_for(triples: int, schema: int, data: int) -> int:
    """How many data copies bring the asserted graph to about ``triples``."""
    return max(1, math.ceil((triples - schema) / data))


def status_mb(field: str) -> float:
    """A memory figure of /proc/self/status (VmRSS, VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} in /proc/self/status: this benchmark needs Linux")


def measure(copies: int, reasoner: Reasoner, out: multiprocessing.connection.Connection) -> None:
    """In the child: build the graph, run infer() once, send back the figures."""
    graph = replicated(copies)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = status_mb("VmRSS")
    start = time.perf_counter()
    result = infer(graph, reasoner)
    seconds = time.perf_counter() - start
    peak = status_mb("VmHWM")
    out.send((len(graph), result.total, seconds, peak, peak - before))


def run(copies: int, reasoner: Reasoner, timeout: float) -> tuple[object, ...] | None:
    """One measurement in a forked child; None if it ran out of time."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=measure, args=(copies, reasoner, send))
    child.start()
    if receive.poll(timeout):
        figures: tuple[object, ...] = receive.recv()
        child.join()
        return figures
    child.kill()
    child.join()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--triples", type=int, nargs="*", default=[100_000, 1_000_000],
        help="asserted sizes to reach by copying the data (the real graph always runs first)",
    )  # fmt: skip
    parser.add_argument("--owlrl-max", type=int, default=100_000, help="largest graph for owlrl")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run")
    args = parser.parse_args()
    schema, data = (len(g) for g in parts())
    sizes = [("real", 1, schema + data)]
    sizes += [(f"~{n:,}", copies_for(n, schema, data), n) for n in args.triples]
    header = (
        "graph",
        "copies",
        "asserted",
        "reasoner",
        "inferred",
        "seconds",
        "peak MB",
        "over input MB",
    )
    print(" | ".join(header))
    print(" | ".join("-" * len(h) for h in header))
    for name, copies, target in sizes:
        for reasoner in Reasoner:
            estimate = schema + copies * data
            if reasoner is Reasoner.OWLRL and target > args.owlrl_max:
                print(f"{name} | {copies} | {estimate} | owlrl | skipped (--owlrl-max) | | |")
                continue
            figures = run(copies, reasoner, args.timeout)
            if figures is None:
                timeout = f"timeout ({args.timeout:.0f} s)"
                print(f"{name} | {copies} | {estimate} | {reasoner} | {timeout} | | |")
                continue
            asserted, inferred, seconds, peak, over = figures
            print(
                f"{name} | {copies} | {asserted} | {reasoner} | {inferred} | {seconds:.2f} | "
                f"{peak:.0f} | {over:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
