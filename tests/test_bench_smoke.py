"""The benchmark harness's smoke run (``scripts/bench --smoke``), so that the harness cannot rot.

It runs the real command a user runs, into a temporary folder, and checks what a user would
look at: every server answered every kind of query at both concurrencies without errors, the
servers agreed on the result counts, and the three outputs are there and well formed. Nothing
is skipped: if wrk or the bench venv cannot be installed, the run fails and says why.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVERS = ("emk", "oxigraph-mem", "oxigraph-disk", "rdflib-endpoint")
KINDS = ("lookup", "join", "aggregate", "label-search", "describe", "construct")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the smoke once for all checks; fail with the harness's own words if it fails."""
    out = tmp_path_factory.mktemp("bench")
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "scripts/bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    seconds = time.monotonic() - started
    print(f"scripts/bench --smoke took {seconds:.1f} s")
    assert done.returncode == 0, (
        f"scripts/bench --smoke exited {done.returncode} after {seconds:.0f} s\n"
        f"--- stdout (tail)\n{done.stdout[-3000:]}\n--- stderr (tail)\n{done.stderr[-5000:]}"
    )
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {"out": out, "stdout": done.stdout, "results": results, "seconds": seconds}


def _size(smoke: dict[str, Any]) -> dict[str, Any]:
    sizes = smoke["results"]["sizes"]
    assert len(sizes) == 1, "the smoke run measures one tiny size"
    size: dict[str, Any] = sizes[0]
    return size


def test_every_server_answered_every_kind_without_errors(smoke: dict[str, Any]) -> None:
    points = {(p["server"], p["kind"], p["concurrency"]): p for p in _size(smoke)["points"]}
    for server in SERVERS:
        for kind in KINDS:
            for concurrency in (1, 16):
                where = f"{server} {kind} c={concurrency}"
                point = points.get((server, kind, concurrency))
                assert point is not None, f"no point measured for {where}"
                assert "skipped" not in point and "error" not in point, f"{where}: {point}"
                assert point["rps"] > 0, f"{where}: no request completed"
                assert point["error_total"] == 0, f"{where}: {point['errors']}"


def test_servers_agree_on_result_counts(smoke: dict[str, Any]) -> None:
    queries = _size(smoke)["queries"]
    assert {q["kind"] for q in queries} == set(KINDS)
    for query in queries:
        assert query["agree"], f"{query['name']}: {query['counts']} {query['errors']}"
        assert set(query["counts"]) >= set(SERVERS)


def test_markdown_has_the_ratio_columns(smoke: dict[str, Any]) -> None:
    markdown = (smoke["out"] / "results.md").read_text(encoding="utf-8")
    for peer in SERVERS[1:]:
        assert f"emk ÷ {peer}" in markdown
        assert f"emk ÷ {peer}" in smoke["stdout"], "the ratio table is printed at the end"
    assert "### Build stages" in markdown and "### Start-up and memory" in markdown


def test_chart_is_a_png(smoke: dict[str, Any]) -> None:
    chart = (smoke["out"] / "results.png").read_bytes()
    assert chart.startswith(PNG_MAGIC) and len(chart) > 10_000


def test_build_timings_startup_and_memory_recorded(smoke: dict[str, Any]) -> None:
    size = _size(smoke)
    build = size["build"]
    assert build["timings"], "build stage timings"
    assert all(seconds >= 0 for seconds in build["timings"].values())
    assert build["peak_rss_mb"] > 0 and size["quads"] > 10_000
    for server in SERVERS:
        facts = size["servers"][server]
        assert facts["startup_s"] > 0 and facts["peak_pss_mb"] > 0, f"{server}: {facts}"
    machine = smoke["results"]["machine"]
    assert machine["cpu_count"] and machine["bench_venv"]["oxigraph"] != "not installed"
