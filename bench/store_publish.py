"""Publishing and serving from a store: publish times, remote-store lookups, page latency.

    .venv/bin/python bench/store_publish.py                      # real, 100k, 1m; 10 s points
    .venv/bin/python bench/store_publish.py --sizes real --duration 3

For each size (editions built and cached by the endpoint harness, ``emkbench.build``):

1. **Publish** the release, timed end to end (load, verify, switch; ``stages`` splits it), into
   a fresh Virtuoso 7 by GSP, a fresh Virtuoso by its bulk loader (isql), and a fresh Oxigraph
   server by GSP. Targets: 1M published and switched in < 2 min.
2. **Lookups and aggregates** (``queries.toml``'s) with wrk at each concurrency, against the
   GSP-published Virtuoso directly (with the same dataset ``serve --store`` sends: the
   release's versioned graphs) and through ``migration-kg serve --store``. Target: remote-store
   lookups at least 0.5x direct Virtuoso. Result counts are compared first.
3. **A page** (``/id/country/tunisia``, HTML) through ``serve --store`` at c=16, after a 3 s
   warm-up pass (each worker caches the page's internal queries; the first request, uncached,
   is reported as ``cold_ms``). Target: p99 < 100 ms.

Stores and servers run on free 127.0.0.1 ports in a temporary directory and are stopped at the
end (the same helpers as tests/store). Writes ``results.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

import httpx  # noqa: E402

from emkbench import load  # noqa: E402
from emkbench.build import prepare  # noqa: E402
from emkbench.paths import DEFAULT_CACHE, PROJECT_CLI  # noqa: E402
from emkbench.queries import load_queries  # noqa: E402
from migration_kg.core.settings import Settings  # noqa: E402
from migration_kg.serve.publish import PublishOptions, bulk_loader, publish  # noqa: E402
from migration_kg.serve.remote import RemoteEngine  # noqa: E402
from migration_kg.serve.store_http import StoreUrls  # noqa: E402
from store_support import free_port, spawn, start_oxigraph, start_virtuoso, wait_http  # noqa: E402

QUIET = PublishOptions(progress=False)
PAGE = "/id/country/tunisia"
JSON = "application/sparql-results+json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="real,100k,1m")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk point")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--buffers", type=int, default=100_000, help="Virtuoso NumberOfBuffers")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "store")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    results: dict[str, Any] = {"sizes": {}, "duration_s": args.duration}
    with tempfile.TemporaryDirectory(prefix="emk-store-bench-") as tmp:
        for size in args.sizes.split(","):
            edition = prepare(size, DEFAULT_CACHE, rebuild=False)
            work = Path(tmp) / size
            print(f"== {size}: {edition.quads:,} quads", flush=True)
            results["sizes"][size] = run_size(edition.dist, work, args, levels)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(render(results))
    return 0


def run_size(dist: Path, work: Path, args: argparse.Namespace, levels: list[int]) -> dict[str, Any]:
    settings = Settings(dist_dir=dist)
    out: dict[str, Any] = {"publish": {}}
    with running(start_virtuoso(work / "virtuoso-bulk", args.buffers)) as store:
        dba = store.settings(settings, dba=True)
        options = replace(QUIET, loader=bulk_loader(dba, store.isql, store.load_dir))
        out["publish"]["virtuoso-bulk"] = timed_publish(dba, store.gsp, options)
    with running(start_oxigraph(work / "oxigraph")) as oxigraph:
        out["publish"]["oxigraph-gsp"] = timed_publish(settings, oxigraph.gsp, QUIET)
    with running(start_virtuoso(work / "virtuoso-gsp", args.buffers)) as store:
        out["publish"]["virtuoso-gsp"] = timed_publish(store.settings(settings), store.gsp, QUIET)
        engine = RemoteEngine.connect(settings, store.query)
        versions = sorted(engine.release.versions.values())
        with serving(store.query, work) as served:
            out["queries"] = compare_queries(store.query, versions, served, args, levels)
            out["page"] = page_point(served, args)
    return out


def timed_publish(settings: Settings, gsp: str, options: PublishOptions) -> dict[str, Any]:
    outcome = publish(settings, StoreUrls.around(gsp), options)
    print(f"  publish {gsp}: {outcome.summary()} {outcome.stages}", flush=True)
    return {"seconds": round(outcome.seconds, 2), "triples": outcome.triples, **outcome.stages}


@contextmanager
def running(server: Any) -> Iterator[Any]:
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def serving(query_url: str, work: Path) -> Iterator[str]:
    """``migration-kg serve --store`` (a worker per CPU) on a free port."""
    port = free_port()
    command = [str(PROJECT_CLI), "serve", "--store", query_url, "--port", str(port)]
    command += ["--timeout", "30", "--row-cap", "1000000"]
    # wrk's connections all come from 127.0.0.1: as bench/run.py does, each stands for a visitor
    command += ["--client-limit", "1000"]
    process = spawn(command, work, "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", process)
        yield url
    finally:
        process.stop()


def compare_queries(
    direct: str, versions: list[str], served: str, args: argparse.Namespace, levels: list[int]
) -> list[dict[str, Any]]:
    queries = load_queries(ROOT / "bench" / "queries.toml", ("lookup", "aggregate"), False)
    dataset = [("default-graph-uri", v) for v in versions] + [
        ("named-graph-uri", v) for v in versions
    ]
    script = load.write_script(Path(tempfile.mkdtemp(prefix="emk-wrk-")))
    rows = []
    for query in queries:
        urls = {
            "virtuoso": f"{direct}?{urlencode([('query', query.text), *dataset])}",
            "serve --store": f"{served}/sparql?{urlencode([('query', query.text)])}",
        }
        counts = {name: count_rows(url) for name, url in urls.items()}
        for level in levels:
            row: dict[str, Any] = {"query": query.name, "kind": query.kind, "c": level}
            row["counts"] = counts
            for name, url in urls.items():
                point = load.Point(url, JSON, level, args.duration, 30.0)
                row[name] = _answered(load.finish_wrk(load.start_wrk(point, script, 2), point), url)
            direct_rps = row["virtuoso"]["rps"]
            row["ratio"] = (
                round(row["serve --store"]["rps"] / direct_rps, 3) if direct_rps else None
            )
            print(f"  {query.name} c={level}: ratio {row['ratio']} counts {counts}", flush=True)
            rows.append(row)
    return rows


def page_point(served: str, args: argparse.Namespace) -> dict[str, Any]:
    script = load.write_script(Path(tempfile.mkdtemp(prefix="emk-wrk-")))
    point = load.Point(served + PAGE, "text/html", 16, args.duration, 30.0)
    started = time.perf_counter()  # the first request: every internal query goes to the store
    httpx.get(served + PAGE, headers={"Accept": "text/html"}, timeout=60).raise_for_status()
    cold_ms = round((time.perf_counter() - started) * 1000, 1)
    # a warm-up pass: each worker process fills its own cache of the page's internal queries
    warm = load.Point(point.url, point.accept, point.concurrency, 3, point.timeout_s)
    load.finish_wrk(load.start_wrk(warm, script, 2), warm)
    result = _answered(load.finish_wrk(load.start_wrk(point, script, 2), point), point.url)
    result["cold_ms"] = cold_ms
    print(f"  page {PAGE} c=16: {result}", flush=True)
    return result


def _answered(result: dict[str, Any], url: str) -> dict[str, Any]:
    """Say loudly when requests of a point failed (refused, timed out): its rate counts them."""
    if result.get("error_total"):
        print(f"  WARNING {url[:100]}: {result['error_total']} failed {result['errors']}")
    return result


def count_rows(url: str) -> int:
    response = httpx.get(url, headers={"Accept": JSON}, timeout=120)
    response.raise_for_status()
    return len(response.json()["results"]["bindings"])


def render(results: dict[str, Any]) -> str:
    lines = [
        "",
        "| size | publish (s): Virtuoso GSP | Virtuoso bulk | Oxigraph GSP |",
        "|---|---|---|---|",
    ]
    for size, data in results["sizes"].items():
        p = data["publish"]
        cells = [f"{p[k]['seconds']}" for k in ("virtuoso-gsp", "virtuoso-bulk", "oxigraph-gsp")]
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| size | query | c | Virtuoso req/s | serve --store req/s | ratio | p99 ms (serve) |",
    ]
    lines.append("|---|---|---|---|---|---|---|")
    for size, data in results["sizes"].items():
        for row in data["queries"]:
            served = row["serve --store"]
            lines.append(
                f"| {size} | {row['query']} | {row['c']} | {row['virtuoso']['rps']} | "
                f"{served['rps']} | {row['ratio']} | {served['p99_ms']} |"
            )
    lines += ["", "| size | page c=16 req/s | p50 ms | p99 ms | first request ms |"]
    lines.append("|---|---|---|---|---|")
    for size, data in results["sizes"].items():
        page = data["page"]
        cells = f"{page['rps']} | {page['p50_ms']} | {page['p99_ms']} | {page['cold_ms']}"
        lines.append(f"| {size} | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
