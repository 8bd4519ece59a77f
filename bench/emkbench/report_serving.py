"""Report tables for serving under load: what killable evaluation costs, and the hostile mix."""

from __future__ import annotations

from typing import Any

from emkbench.servers import EMK_THREAD_SERIES


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def evaluation_cost_table(size: dict[str, Any]) -> list[str]:
    """emk (evaluator processes) against emk-thread (in-thread, as before) on every point."""
    index = {(p["server"], p["name"], p["concurrency"]): p for p in size["points"]}
    if not any(server == EMK_THREAD_SERIES for server, _, _ in index):
        return []
    head = ["kind", "query", "c", "processes req/s", "threads req/s", "processes ÷ threads"]
    head += ["processes p50 ms", "threads p50 ms", "processes p99 ms", "threads p99 ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    seen = dict.fromkeys((p["kind"], p["name"], p["concurrency"]) for p in size["points"])
    for kind, name, conc in seen:
        new, old = index.get(("emk", name, conc)), index.get((EMK_THREAD_SERIES, name, conc))
        if not new or not old or "rps" not in new or "rps" not in old:
            continue
        ratio = f"{new['rps'] / old['rps']:.2f}x" if old["rps"] else "-"
        cells = [kind, name, str(conc), _num(new["rps"]), _num(old["rps"]), ratio]
        cells += [_num(new["p50_ms"]), _num(old["p50_ms"]), _num(new["p99_ms"])]
        cells.append(_num(old["p99_ms"]))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def hostile_table(size: dict[str, Any]) -> list[str]:
    """Per server: lookups quiet and during the mix, liveness, and what was left afterwards."""
    records = size.get("hostile") or []
    if not records:
        return []
    head = ["server", "quiet req/s", "quiet p99 ms", "mixed req/s", "mixed p99 ms", "kept"]
    head += ["lookup errors", "liveness answered / failed (max ms)", "runaway answers"]
    head += ["CPU after %", "lookup after", "restarted"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for record in records:
        quiet, mixed, health = record["quiet"], record["mixed"], record["health"]
        kept = f"{100 * mixed['rps'] / quiet['rps']:.0f} %" if quiet["rps"] else "-"
        runaways = record["runaways"]
        runaway = "error" if "error" in runaways else _runaway_cell(runaways)
        after = record["lookup_after"]
        after_cell = f"{after['status']} in {after['ms']} ms" if after.get("ms") else "no answer"
        cells = [
            record["server"],
            _num(quiet["rps"]),
            _num(quiet["p99_ms"]),
            _num(mixed["rps"]),
            _num(mixed["p99_ms"]),
            kept,
            str(mixed["error_total"]),
            f"{health['answered']} / {health['failed']} ({_num(health['max_ms'])})",
            runaway,
            str(record["cpu_after_pct"]),
            after_cell,
            "yes" if record["restarted"] else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _runaway_cell(point: dict[str, Any]) -> str:
    """How the never-ending queries were answered: non-2xx (503s), timeouts at the client."""
    errors = point["errors"]
    return f"{point['requests']} ({errors['status']} non-2xx, {errors['timeout']} timed out)"
