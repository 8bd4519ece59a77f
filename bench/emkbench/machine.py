"""What the numbers were measured on: CPU, memory, versions of everything timed."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from emkbench.paths import BENCH_BIN, PROJECT_PYTHON, ROOT

_PROJECT_PACKAGES = ("migration-kg", "pyoxigraph", "rdflib", "fastapi", "uvicorn")
_BENCH_PACKAGES = ("oxigraph", "rdflib-endpoint", "rdflib", "uvicorn", "fastapi", "matplotlib")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return 0.0


def _output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    except OSError as exc:
        return f"unavailable: {exc}"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else ""
    )


def _project_versions() -> dict[str, str]:
    """Versions in the project venv (the emk server and the build run there, not here)."""
    code = (
        "import json, importlib.metadata as m\n"
        f"print(json.dumps({{p: m.version(p) for p in {list(_PROJECT_PACKAGES)!r}}}))"
    )
    import json

    try:
        return dict(json.loads(_output([str(PROJECT_PYTHON), "-c", code])))
    except ValueError:
        return {}


def _bench_versions() -> dict[str, str]:
    versions = {}
    for package in _BENCH_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def describe() -> dict[str, Any]:
    """Machine and software facts recorded at the top of results.json."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "mem_total_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "project_venv": _project_versions(),
        "bench_venv": _bench_versions(),
        "oxigraph_cli": _output([str(BENCH_BIN / "oxigraph"), "--version"]),
        "wrk": _output(["wrk", "-v"]),
        "git_commit": _output(["git", "rev-parse", "HEAD"]),
        "git_dirty": bool(_output(["git", "status", "--porcelain"])),
    }
