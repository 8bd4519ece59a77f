"""Timed load with wrk: a bounded loop of GETs to one 127.0.0.1 URL, percentiles from wrk itself.

wrk (C, epoll) rather than a Python client because a Python client saturates a core long before
Oxigraph does: with 2 cores shared between client and server the load tool must be cheap. A Lua
``done()`` hook prints exact percentiles and every error counter as one JSON line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emkbench.localhttp import Answer, request

LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  local mean = latency.mean
  if mean ~= mean then mean = 0 end
  io.write(string.format(
    'WRKJSON {"duration_us":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, mean))
end
"""


@dataclass(frozen=True)
class Point:
    """One measured point: a query on a server at one concurrency."""

    url: str
    accept: str
    concurrency: int
    duration_s: int
    timeout_s: float


def wrk_path() -> str:
    """The wrk executable, or a clear error (scripts/bench installs the Debian package)."""
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: run scripts/bench (apt-get install -y wrk)")
    return path


def write_script(workdir: Path) -> Path:
    script = workdir / "report.lua"
    script.write_text(LUA, encoding="utf-8")
    return script


def start_wrk(point: Point, script: Path, threads: int) -> subprocess.Popen[str]:
    """Launch wrk for ``point`` (threads ≤ connections, as wrk requires)."""
    command = [
        wrk_path(),
        f"-t{max(1, min(threads, point.concurrency))}",
        f"-c{point.concurrency}",
        f"-d{point.duration_s}s",
        f"--timeout={point.timeout_s:g}s",
        "-s",
        str(script),
        "-H",
        f"Accept: {point.accept}",
        point.url,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_wrk(process: subprocess.Popen[str], point: Point) -> dict[str, Any]:
    """Wait for wrk and turn its JSON line into req/s, p50/p99 ms and error counts."""
    try:
        out, err = process.communicate(timeout=point.duration_s + point.timeout_s + 30)
    except BaseException:
        process.kill()
        process.wait()
        raise
    lines = [line for line in out.splitlines() if line.startswith("WRKJSON ")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.strip() or out[-500:]}")
    raw = json.loads(lines[-1].removeprefix("WRKJSON "))
    return summarise(raw)


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """Successful requests per second (non-2xx excluded) and latencies in milliseconds."""
    seconds = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["status"]
    errors = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout")}
    return {
        "rps": round(ok / seconds, 2) if seconds else 0.0,
        "requests": raw["requests"],
        "ok": ok,
        "p50_ms": round(raw["p50_us"] / 1000, 3),
        "p90_ms": round(raw["p90_us"] / 1000, 3),
        "p99_ms": round(raw["p99_us"] / 1000, 3),
        "max_ms": round(raw["max_us"] / 1000, 3),
        "mean_ms": round(raw["mean_us"] / 1000, 3),
        "seconds": round(seconds, 3),
        "bytes": raw["bytes"],
        "errors": errors,
        "error_total": sum(errors.values()),
    }


def drain(url: str, accept: str, limit_s: float, alive: Callable[[], bool]) -> float:
    """Wait until the server answers ``url`` again (a serial server may still be working
    through requests wrk abandoned); seconds waited. Gives up at once if it has exited."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s and alive():
        try:
            answer: Answer = request(url, accept=accept, timeout_s=limit_s)
            if answer.status == 200:
                break
        except OSError:
            time.sleep(0.2)
    return round(time.monotonic() - started, 3)
