"""One size end to end: build, start every server, check result counts, time every point.

All servers of a size are up at once (started one after the other, so each start-up is timed
alone) because the result-count check must ask every server the same query before any of
them is timed. Only the server being measured is loaded; the others sit idle.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emkbench import build, cpu, hostile, load, servers
from emkbench.localhttp import count_results, request
from emkbench.queries import Query, load_queries


@dataclass(frozen=True)
class Options:
    """Everything a run was asked for (recorded in results.json)."""

    sizes: tuple[str, ...]
    duration_s: int
    concurrency: tuple[int, ...]
    servers: tuple[str, ...]
    kinds: tuple[str, ...]
    out: Path
    cache: Path
    queries_file: Path
    smoke: bool
    rebuild: bool
    parallel: bool
    timeout_s: float
    startup_timeout_s: float
    slow_limit_s: float
    check_timeout_s: float
    emk_workers: int
    cache_series: bool
    emk_row_cap: int
    thread_series: bool = False
    hostile: bool = False
    hostile_duration_s: int = 30
    hostile_servers: tuple[str, ...] = ("emk", "emk-thread", "oxigraph-mem")


def say(message: str) -> None:
    """Progress on stderr, so stdout keeps only the final table."""
    print(message, file=sys.stderr, flush=True)


def series(options: Options) -> list[str]:
    """Servers to start: the requested ones, plus ``emk-cache`` when the CLI has a cache."""
    names = list(options.servers)
    if options.cache_series and "emk" in names and servers.emk_cache_switches() is not None:
        names.insert(names.index("emk") + 1, servers.EMK_CACHE_SERIES)
    wanted = options.thread_series or (
        options.hostile and servers.EMK_THREAD_SERIES in options.hostile_servers
    )
    if wanted and "emk" in names and "--evaluation" in servers.emk_serve_options():
        names.insert(names.index("emk") + 1, servers.EMK_THREAD_SERIES)
    return names


def run_size(size: str, options: Options, tmp: Path) -> dict[str, Any]:
    """Build (or reuse) the edition at ``size`` and measure every server on it."""
    say(f"[{size}] preparing the edition (build cache: {options.cache})")
    edition = build.prepare(size, options.cache, options.rebuild)
    say(f"[{size}] {edition.quads:,} quads; build {_build_line(edition.info)}")
    workdir = Path(tempfile.mkdtemp(prefix=f"{size}-", dir=tmp))
    server_options = servers.ServerOptions(
        options.timeout_s,
        options.startup_timeout_s,
        options.emk_workers,
        workdir,
        options.emk_row_cap,
    )
    record: dict[str, Any] = {
        "size": size,
        "quads": edition.quads,
        "build": _public_build_info(edition.info),
        "servers": {},
        "queries": [],
        "points": [],
    }
    running: dict[str, servers.Running] = {}
    try:
        _start_all(series(options), edition, server_options, running, record)
        queries = load_queries(options.queries_file, options.kinds, first_per_kind=options.smoke)
        script = load.write_script(workdir)
        for query in queries:
            check = check_counts(query, running, options)
            record["queries"].append(check)
            record["points"] += time_query(query, running, check, options, script)
        if options.hostile:
            record["hostile"] = run_hostile(queries, running, options, workdir)
        for name, server in running.items():
            record["servers"][name] = server.memory()
    finally:
        for server in running.values():
            server.stop()
        _keep_logs(workdir, options.out / "logs", size, record)
    return record


def run_hostile(
    queries: list[Query],
    running: dict[str, servers.Running],
    options: Options,
    workdir: Path,
) -> list[dict[str, Any]]:
    """The hostile mix on each server of ``hostile_servers`` (Oxigraph last: it never recovers)."""
    lookup = next((q for q in queries if q.kind == "lookup"), None)
    if lookup is None:
        say("!! the hostile mix needs a lookup query (--kinds lookup)")
        return []
    records = []
    for name in sorted(options.hostile_servers, key=lambda n: n.startswith("oxigraph")):
        server = running.get(name)
        if server is None:
            continue
        say(f"  hostile mix on {name}: {options.hostile_duration_s} s quiet, then the mix")
        server.sampler.active = True
        result = hostile.run(
            server, lookup.text, options.hostile_duration_s, options.timeout_s, workdir
        )
        server.sampler.active = False
        quiet, mixed = result["quiet"], result["mixed"]
        say(
            f"  {name:<16} lookups quiet {quiet['rps']:>9.1f} req/s p99 {quiet['p99_ms']:>8.2f} ms"
            f" | mixed {mixed['rps']:>9.1f} req/s p99 {mixed['p99_ms']:>8.2f} ms"
            f" | health {result['health']} | CPU after {result['cpu_after_pct']} %"
        )
        records.append(result)
    return records


def _keep_logs(workdir: Path, logs: Path, size: str, record: dict[str, Any]) -> None:
    """Copy the servers' stderr logs next to the results (the work folder is deleted)."""
    logs.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob("*.log"):
        kept = logs / f"{size}-{log.name}"
        shutil.copyfile(log, kept)
        server = record["servers"].get(log.stem)
        if server is not None:
            server["log"] = str(kept)


def _build_line(info: dict[str, Any]) -> str:
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in info.get("timings", {}).items())
    cached = " (cached)" if info.get("cached") else ""
    return f"{stages}; peak RSS {info.get('peak_rss_mb', 0):.0f} MB{cached}"


def _public_build_info(info: dict[str, Any]) -> dict[str, Any]:
    keep = ("timings", "triples", "quads", "wall_s", "process_wall_s", "peak_rss_mb", "cached")
    keep += ("tree_peak_rss_mb", "tree_peak_pss_mb", "tree_processes")
    extra = ("generate_s", "synthetic", "target_quads", "code", "build_hash")
    return {k: info[k] for k in (*keep, *extra) if k in info}


def _start_all(
    names: list[str],
    edition: build.Edition,
    options: servers.ServerOptions,
    running: dict[str, servers.Running],
    record: dict[str, Any],
) -> None:
    """Start each server in turn; a server that fails is recorded, the others still run."""
    for name in names:
        say(f"[{edition.size}] starting {name}")
        try:
            server = servers.start(name, edition, options)
        except (RuntimeError, TimeoutError, OSError, ValueError) as exc:
            say(f"[{edition.size}] !! {name} did not start: {exc}")
            record["servers"][name] = {"error": str(exc)}
            continue
        server.sampler.active = False
        running[name] = server
        say(f"[{edition.size}] {name} ready in {server.info['startup_s']:.2f} s")


def check_counts(
    query: Query, running: dict[str, servers.Running], options: Options
) -> dict[str, Any]:
    """Ask every server ``query`` once (twice if quick, to warm up): counts and one latency.

    A server that does not answer within ``check_timeout_s`` is "too slow" (not timed, not a
    mismatch); a wrong status or an unreadable answer is an error, and fails the comparison.
    """
    counts: dict[str, int] = {}
    single_ms: dict[str, float] = {}
    errors: dict[str, str] = {}
    too_slow: dict[str, str] = {}
    media: dict[str, str] = {}
    for name, server in running.items():
        url = server.url(query.text)
        try:
            answer = request(url, query.accept, options.check_timeout_s)
            if answer.seconds < 1:
                answer = request(url, query.accept, options.check_timeout_s)
            counts[name] = count_results(answer)
            single_ms[name] = round(answer.seconds * 1000, 3)
            media[name] = answer.content_type.split(";")[0]
        except TimeoutError:
            too_slow[name] = f"no answer within {options.check_timeout_s:g} s"
            server.drain(options.check_timeout_s * 10)
        except (OSError, ValueError) as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            server.drain(drain_limit(options, 1))
    agree = len(set(counts.values())) <= 1 and not errors
    check = {
        "kind": query.kind,
        "name": query.name,
        "form": query.form,
        "counts": counts,
        "single_ms": single_ms,
        "errors": errors,
        "too_slow": too_slow,
        "media": media,
        "agree": agree,
    }
    if not agree:
        say(f"!! RESULT COUNT MISMATCH for {query.name}: {counts} errors={errors}")
    return check


def drain_limit(options: Options, concurrency: int) -> float:
    """Longest wait for abandoned requests: each took at most the slow limit (else untimed)."""
    return concurrency * options.slow_limit_s + 30


def _skip_reason(server: servers.Running, check: dict[str, Any], options: Options) -> str | None:
    name = server.name
    if not server.alive():
        return f"server had exited ({server.process.returncode})"
    if name in check["errors"]:
        return f"query failed: {check['errors'][name]}"
    if name in check["too_slow"]:
        return f"too slow to time: {check['too_slow'][name]}"
    if check["single_ms"].get(name, 0) > options.slow_limit_s * 1000:
        return f"one query took {check['single_ms'][name] / 1000:.1f} s > {options.slow_limit_s} s"
    return None


def time_query(
    query: Query,
    running: dict[str, servers.Running],
    check: dict[str, Any],
    options: Options,
    script: Path,
) -> list[dict[str, Any]]:
    """wrk every (server, concurrency) for ``query``; one server at a time unless parallel."""
    points = []
    for concurrency in options.concurrency:
        batch: list[tuple[str, servers.Running]] = []
        for name, server in running.items():
            base = {"server": name, "kind": query.kind, "name": query.name}
            base["concurrency"] = concurrency
            reason = _skip_reason(server, check, options)
            if reason:
                points.append({**base, "skipped": reason})
            else:
                batch.append((name, server))
        groups = [batch] if options.parallel else [[item] for item in batch]
        for group in groups:
            duration = point_duration(options, concurrency, group, check)
            points += _measure_group(query, group, concurrency, duration, options, script)
    return points


def point_duration(
    options: Options,
    concurrency: int,
    group: list[tuple[str, servers.Running]],
    check: dict[str, Any],
) -> int:
    """``--duration``, stretched so that the slowest server of ``group`` can finish requests.

    Why: a server that answers one request at a time needs ``concurrency`` times its single
    latency before the first of ``concurrency`` requests completes; a 1 s smoke point at c=16
    then measured "0 req/s" for rdflib-endpoint's 50 ms aggregates. The stretch allows a few
    rounds, capped by the request timeout (longer requests count as timeouts anyway), so the
    10 s points of a full run are unchanged.
    """
    slowest_s = max((check["single_ms"].get(name, 0.0) for name, _ in group), default=0.0) / 1000
    needed = math.ceil(STRETCH_ROUNDS * concurrency * slowest_s)
    return max(options.duration_s, min(needed, math.floor(options.timeout_s)))


STRETCH_ROUNDS = 5


def _measure_group(
    query: Query,
    group: list[tuple[str, servers.Running]],
    concurrency: int,
    duration_s: int,
    options: Options,
    script: Path,
) -> list[dict[str, Any]]:
    """Run wrk against every server of ``group`` at once (one server, outside smoke runs)."""
    threads = os.cpu_count() or 1
    others = cpu.watch(server.process.pid for _, server in group)
    started = []
    for name, server in group:
        point = load.Point(
            server.url(query.text), query.accept, concurrency, duration_s, options.timeout_s
        )
        server.sampler.active = True
        started.append((name, server, point, load.start_wrk(point, script, threads)))
    results: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
        futures = [(n, s, pool.submit(load.finish_wrk, w, p)) for n, s, p, w in started]
        for name, server, future in futures:
            base = {"server": name, "kind": query.kind, "name": query.name}
            try:
                measured = future.result()
            except RuntimeError as exc:
                measured = {"error": str(exc)}
            server.sampler.active = False
            measured["drain_s"] = server.drain(drain_limit(options, concurrency))
            if not server.alive():
                measured["error"] = f"server exited ({server.process.returncode}) during the point"
                say(f"!! {name} exited; see {server.info['log']}")
            results.append({**base, "concurrency": concurrency, **measured})
    other = others.stop()  # includes the drain: a slow drain is the servers' own work
    for point in results:
        point["other_cpu_pct"] = other
        _print_point(point)
    return results


BUSY_PCT = 10.0  # other processes' share of the CPUs above which a point is flagged


def _print_point(point: dict[str, Any]) -> None:
    if "error" in point:
        say(f"  {point['server']:<16} {point['name']:<36} c={point['concurrency']:<3} ERROR")
        return
    errors = f" errors={point['errors']}" if point["error_total"] else ""
    if point.get("other_cpu_pct", 0) > BUSY_PCT:
        errors += f"  (other processes used {point['other_cpu_pct']:.0f} % of the CPUs)"
    say(
        f"  {point['server']:<16} {point['name']:<36} c={point['concurrency']:<3}"
        f" {point['rps']:>10.1f} req/s  p50 {point['p50_ms']:>9.2f} ms"
        f"  p99 {point['p99_ms']:>9.2f} ms{errors}"
    )
