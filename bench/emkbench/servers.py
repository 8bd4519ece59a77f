"""The servers under test, each started over one built edition and answering from the union graph.

* ``emk``: ``migration-kg serve`` (the project; its default graph is the union of the release's
  named graphs). ``--workers`` is passed only if ``serve --help`` lists it; a result cache is
  turned off unless the series is the separate ``emk-cache`` one. ``--timeout`` is wrk's, and
  ``--row-cap`` is raised (``--emk-row-cap``): the default cap of 10,000 rows truncated a 1M
  join the peers answer in full, which is less work, not a faster server.
* ``oxigraph-mem``: ``oxigraph serve`` without ``--location`` (in memory), the N-Quads POSTed to
  ``/store``; ``--union-default-graph``. No ``--timeout-s``: in 0.5.13 it starts a thread per
  query, and at c=16 the server failed thread creation (EAGAIN) and died; so no query timeout,
  which is Oxigraph's default (emk gets ``--timeout``, rdflib-endpoint has none).
* ``oxigraph-disk``: ``oxigraph load`` into a RocksDB directory, then ``oxigraph
  serve-read-only --union-default-graph``; start-up counts both steps.
* ``rdflib-endpoint``: ``rdflib-endpoint serve emk.nq``, which parses into
  ``Dataset(default_union=True)``.

Start-up time is from process start to data loaded and an ``ASK { ?s ?p ?o }`` answered true.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from emkbench import load, procs
from emkbench.build import Edition
from emkbench.localhttp import SELECT_MEDIA, count_results, local_url, post_file, request
from emkbench.paths import BENCH_BIN, PROJECT_CLI, ROOT

SERVERS = ("emk", "oxigraph-mem", "oxigraph-disk", "rdflib-endpoint")
EMK_CACHE_SERIES = "emk-cache"
# emk evaluating in threads (``--evaluation thread``): the path the evaluator processes replaced,
# measured in the same run to show what killable evaluation costs on each query.
EMK_THREAD_SERIES = "emk-thread"
READY_QUERY = "ASK { ?s ?p ?o }"


@dataclass(frozen=True)
class ServerOptions:
    """What the servers are started with (``timeout_s``: emk's query timeout, as wrk's)."""

    timeout_s: float
    startup_timeout_s: float
    emk_workers: int
    workdir: Path
    emk_row_cap: int = 0  # 0: the server's default


@dataclass
class Running:
    """A started server: where to query it, its processes, and what its start-up measured."""

    name: str
    port: int
    path: str
    process: subprocess.Popen[bytes]
    sampler: procs.MemorySampler
    info: dict[str, Any] = field(default_factory=dict)

    def alive(self) -> bool:
        return self.process.poll() is None

    def drain(self, limit_s: float) -> float:
        """Wait until a cheap query is answered again; seconds waited (see load.drain)."""
        return load.drain(self.url(READY_QUERY), SELECT_MEDIA, limit_s, self.alive)

    def url(self, query: str | None = None) -> str:
        return local_url(self.port, self.path, query)

    def memory(self) -> dict[str, Any]:
        return {**self.info, **self.sampler.peaks_mb()}

    def stop(self) -> None:
        self.sampler.close()
        procs.stop(self.process)


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (closed again at once)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@cache
def emk_serve_options() -> frozenset[str]:
    """Long options ``migration-kg serve --help`` lists (other work adds --workers, a cache…)."""
    done = subprocess.run(
        [str(PROJECT_CLI), "serve", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
    )
    return frozenset(re.findall(r"(--[a-z][a-z0-9-]*)", done.stdout))


def emk_cache_switches() -> tuple[list[str], list[str]] | None:
    """(args turning the result cache off, args turning it on), or None without a cache option.

    Boolean pairs (``--x-cache/--no-x-cache``) are used as such; a lone ``--no-…cache`` means
    the cache is on by default; a lone option taking a size is set to 0 for "off".
    """
    names = sorted(o for o in emk_serve_options() if "cache" in o)
    negatives = [o for o in names if o.startswith("--no-")]
    for negative in negatives:
        positive = "--" + negative.removeprefix("--no-")
        return [negative], ([positive] if positive in names else [])
    for option in names:
        if option.endswith(("-size", "-entries", "-mb", "-bytes", "-max")):
            return [option, "0"], []
        return [], [option]
    return None


def emk_command(
    port: int, options: ServerOptions, cache_on: bool, threads: bool = False
) -> list[str]:
    """``migration-kg serve`` with the options this checkout's CLI understands.

    Each wrk connection stands for one visitor: the per-client limit is lifted for the timed
    points (all of them come from 127.0.0.1), and 127.0.0.1 is a trusted proxy so that the
    hostile mix can name its 32 clients with X-Forwarded-For.
    """
    command = [str(PROJECT_CLI), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if "--client-limit" in emk_serve_options():
        command += ["--client-limit", "1000", "--trusted-proxy", "127.0.0.1"]
    if threads:
        command += ["--evaluation", "thread"]
    command += ["--timeout", str(options.timeout_s)]
    if options.emk_row_cap and "--row-cap" in emk_serve_options():
        command += ["--row-cap", str(options.emk_row_cap)]
    if "--workers" in emk_serve_options():
        command += ["--workers", str(options.emk_workers)]
    switches = emk_cache_switches()
    if switches is not None:
        command += switches[1] if cache_on else switches[0]
    return command


def start(name: str, edition: Edition, options: ServerOptions) -> Running:
    """Start server ``name`` over ``edition`` and wait until it answers from loaded data."""
    starters: dict[str, Callable[[Edition, ServerOptions, int], Running]] = {
        "emk": lambda e, o, p: _start_emk(e, o, p, cache_on=False),
        EMK_CACHE_SERIES: lambda e, o, p: _start_emk(e, o, p, cache_on=True),
        EMK_THREAD_SERIES: lambda e, o, p: _start_emk(e, o, p, cache_on=False, threads=True),
        "oxigraph-mem": _start_oxigraph_mem,
        "oxigraph-disk": _start_oxigraph_disk,
        "rdflib-endpoint": _start_rdflib_endpoint,
    }
    return starters[name](edition, options, free_port())


def _launch(
    name: str, command: list[str], port: int, path: str, options: ServerOptions, **env: str
) -> Running:
    log = options.workdir / f"{name}.log"
    process = procs.spawn(command, log, env={**os.environ, **env} if env else None)
    sampler = procs.MemorySampler(process.pid).start()
    info = {"command": " ".join(command), "log": str(log)}
    return Running(name, port, path, process, sampler, info)


def _await_ready(server: Running, options: ServerOptions, started: float, need_data: bool) -> None:
    """Poll READY_QUERY until it answers (true, if ``need_data``); record start-up time."""

    def ready() -> bool:
        if server.process.poll() is not None:
            tail = Path(server.info["log"]).read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited ({server.process.returncode}):\n{tail}")
        try:
            answer = request(server.url(READY_QUERY), timeout_s=5)
        except OSError:
            return False
        return answer.status == 200 and (count_results(answer) == 1 or not need_data)

    procs.wait_until(ready, options.startup_timeout_s, every_s=0.05)
    server.info["startup_s"] = round(time.perf_counter() - started, 3)
    rss, pss = server.sampler.sample()
    server.info["ready_rss_mb"] = round(rss / procs.KiB, 1)
    server.info["ready_pss_mb"] = round(pss / procs.KiB, 1)


@contextmanager
def _stopped_on_failure(server: Running) -> Iterator[None]:
    """Stop ``server`` if getting it ready fails, so no half-started peer outlives the run."""
    try:
        yield
    except BaseException:
        server.stop()
        raise


def _start_emk(
    edition: Edition, options: ServerOptions, port: int, cache_on: bool, threads: bool = False
) -> Running:
    name = EMK_CACHE_SERIES if cache_on else EMK_THREAD_SERIES if threads else "emk"
    started = time.perf_counter()
    command = emk_command(port, options, cache_on, threads)
    server = _launch(name, command, port, "/sparql", options, EMK_DIST_DIR=str(edition.dist))
    with _stopped_on_failure(server):
        _await_ready(server, options, started, need_data=True)
    return server


def _oxigraph() -> str:
    return str(BENCH_BIN / "oxigraph")


def _start_oxigraph_mem(edition: Edition, options: ServerOptions, port: int) -> Running:
    started = time.perf_counter()
    command = [_oxigraph(), "serve", "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    server = _launch("oxigraph-mem", command, port, "/query", options)
    with _stopped_on_failure(server):
        _await_ready(server, options, started, need_data=False)
        nquads = str(edition.dist / "emk.nq")
        timeout = options.startup_timeout_s
        answer = post_file(local_url(port, "/store"), nquads, "application/n-quads", timeout)
        if not 200 <= answer.status < 300:
            raise RuntimeError(f"oxigraph-mem: POST /store answered {answer.status}")
        server.info["load_s"] = round(answer.seconds, 3)
        _await_ready(server, options, started, need_data=True)
    return server


def _start_oxigraph_disk(edition: Edition, options: ServerOptions, port: int) -> Running:
    location = options.workdir / "oxigraph-disk-store"
    started = time.perf_counter()
    load = [
        _oxigraph(),
        "load",
        "--location",
        str(location),
        "--file",
        str(edition.dist / "emk.nq"),
    ]
    load_info = _run_sampled(load, options.workdir / "oxigraph-load.log")
    command = [_oxigraph(), "serve-read-only", "--location", str(location)]
    command += ["--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    opened = time.perf_counter()
    server = _launch("oxigraph-disk", command, port, "/query", options)
    server.info.update(load_info)
    with _stopped_on_failure(server):
        _await_ready(server, options, opened, need_data=True)
    server.info["open_s"] = server.info["startup_s"]
    server.info["startup_s"] = round(time.perf_counter() - started, 3)
    server.info["disk_mb"] = round(_du(location) / 2**20, 1)
    return server


def _run_sampled(command: list[str], log: Path) -> dict[str, Any]:
    """Run a one-shot step (``oxigraph load``) to completion; its time and peak memory."""
    started = time.perf_counter()
    process = procs.spawn(command, log)
    sampler = procs.MemorySampler(process.pid).start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        sampler.close()
        procs.stop(process)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed; see {log}")
    peaks = sampler.peaks_mb()
    return {
        "load_s": round(time.perf_counter() - started, 3),
        "load_peak_rss_mb": round(max(usage.ru_maxrss, 0) / procs.KiB, 1),
        "load_peak_pss_mb": peaks["peak_pss_mb"],
    }


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _start_rdflib_endpoint(edition: Edition, options: ServerOptions, port: int) -> Running:
    started = time.perf_counter()
    command = [str(BENCH_BIN / "rdflib-endpoint"), "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), str(edition.dist / "emk.nq")]
    server = _launch("rdflib-endpoint", command, port, "/", options)
    with _stopped_on_failure(server):
        _await_ready(server, options, started, need_data=True)
    return server


def describe_setup() -> dict[str, Any]:
    """How the servers were configured, for results.json (what a reader must know to compare)."""
    switches = emk_cache_switches()
    return {
        "emk_serve_options": sorted(emk_serve_options()),
        "emk_workers_option": "--workers" in emk_serve_options(),
        "emk_cache_off_args": switches[0] if switches else None,
        "emk_cache_on_args": switches[1] if switches else None,
        "union_default_graph": {
            "emk": "built in (union of named graphs)",
            "oxigraph-mem": "oxigraph serve --union-default-graph",
            "oxigraph-disk": "oxigraph serve-read-only --union-default-graph",
            "rdflib-endpoint": "rdflib-endpoint serve: Dataset(default_union=True)",
        },
        "checkout": str(ROOT),
    }
