"""The hostile mix: never-ending queries and lookups at once, against each server in turn.

Per server: a quiet point (16 clients sending lookups for ``duration_s``), then the mix — 16
clients sending a query that never ends within any timeout, and 16 sending the same lookups,
for ``duration_s`` — while a prober asks the server's liveness path every 0.1 s. Each wrk
thread is one client with one connection, named by ``X-Forwarded-For`` (emk is started with
``--trusted-proxy 127.0.0.1``, as behind a reverse proxy; the peers ignore the header). After
the mix the harness records whether the server still answers, how much CPU its processes keep
using (a server that cannot cancel goes on evaluating), and whether its processes changed
(a restart). Oxigraph runs without a timeout (see servers.py), so its runaway queries never end:
it is measured last and stopped afterwards.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from emkbench import cpu, load, procs
from emkbench.localhttp import SELECT_MEDIA, request
from emkbench.servers import Running

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CLIENTS = 16
_IDENTITY_LUA = """
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  wrk.headers["X-Forwarded-For"] = "{prefix}" .. id
end
"""
LIVENESS = {"emk": "/health", "emk-thread": "/health", "emk-cache": "/health"}


def scripts(workdir: Path) -> tuple[Path, Path]:
    """wrk scripts naming each thread's client: 10.0.0.N for lookups, 10.66.0.N for runaways."""
    paths = []
    for name, prefix in (("lookups", "10.0.0."), ("runaways", "10.66.0.")):
        path = workdir / f"hostile-{name}.lua"
        path.write_text(_IDENTITY_LUA.replace("{prefix}", prefix) + load.LUA, encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def run(
    server: Running, lookup: str, duration_s: int, timeout_s: float, workdir: Path
) -> dict[str, Any]:
    """Quiet lookups, then the mix, on one server; the numbers and what happened after."""
    lookups_lua, runaways_lua = scripts(workdir)
    quiet_point = load.Point(server.url(lookup), SELECT_MEDIA, CLIENTS, duration_s, timeout_s)
    quiet = load.finish_wrk(load.start_wrk(quiet_point, lookups_lua, CLIENTS), quiet_point)
    server.drain(60)
    before = set(procs.tree(server.process.pid))
    workers_before = _workers(server)
    prober = _Prober(server.url(None).rsplit("/", 1)[0] + LIVENESS.get(server.name, "/"))
    runaway_point = load.Point(
        server.url(RUNAWAY), SELECT_MEDIA, CLIENTS, duration_s, timeout_s + 10
    )
    runaways = load.start_wrk(runaway_point, runaways_lua, CLIENTS)
    time.sleep(0.5)  # the runaways are in before the lookups start
    mixed_point = load.Point(server.url(lookup), SELECT_MEDIA, CLIENTS, duration_s, timeout_s)
    prober.start()
    mixed = load.finish_wrk(load.start_wrk(mixed_point, lookups_lua, CLIENTS), mixed_point)
    prober.stop()
    runaway_result = _finish(runaways, runaway_point)
    after = _after(server, lookup)
    return {
        "server": server.name,
        "quiet": quiet,
        "mixed": mixed,
        "runaways": runaway_result,
        "health": prober.summary(),
        "restarted": _workers(server) != workers_before or not server.alive(),
        "processes_before": len(before),
        **after,
    }


def _finish(process: subprocess.Popen[str], point: load.Point) -> dict[str, Any]:
    try:
        return load.finish_wrk(process, point)
    except RuntimeError as exc:
        return {"error": str(exc)}


def _workers(server: Running) -> set[int]:
    """The server's direct children (emk's workers); empty for single-process servers."""
    pid = server.process.pid
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def _after(server: Running, lookup: str) -> dict[str, Any]:
    """Right after the mix: CPU the server's processes use over 2 s, and a lookup's latency."""
    started_cpu = cpu.tree_cpu_s(server.process.pid)
    time.sleep(2.0)
    busy_pct = round(100 * (cpu.tree_cpu_s(server.process.pid) - started_cpu) / 2.0, 1)
    try:
        answer = request(server.url(lookup), SELECT_MEDIA, timeout_s=10)
        lookup_after = {"status": answer.status, "ms": round(answer.seconds * 1000, 1)}
    except OSError as exc:
        lookup_after = {"status": None, "error": str(exc)}
    return {"cpu_after_pct": busy_pct, "lookup_after": lookup_after}


class _Prober:
    """Asks a liveness URL every 0.1 s (1 s timeout): answered, failed, slowest."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                answer = request(self.url, "*/*", timeout_s=1.0)
            except OSError:
                self.failures += 1
                continue
            if answer.status == 200:
                self.latencies.append(answer.seconds * 1000)
            else:
                self.failures += 1

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "answered": len(ordered),
            "failed": self.failures,
            "max_ms": round(ordered[-1], 1) if ordered else None,
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1) if ordered else None,
        }
