"""results.json, results.md (tables with emk ÷ peer ratios), results.png, and the printed table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emkbench.report_serving import evaluation_cost_table, hostile_table
from emkbench.runner import BUSY_PCT
from emkbench.servers import EMK_CACHE_SERIES

PEERS = ("oxigraph-mem", "oxigraph-disk", "rdflib-endpoint")
BASES = ("emk", EMK_CACHE_SERIES)


def write_all(results: dict[str, Any], out: Path) -> None:
    """Write the three outputs (again after each size, so a long run keeps what it measured)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    chart(results, out / "results.png")


def problems(results: dict[str, Any]) -> list[str]:
    """What makes the comparison doubtful: a server that failed, differing result counts, a
    query that errs, wrk failing. (Errors under load are measurements: see ``load_errors``.)"""
    found = []
    for size in results["sizes"]:
        for name, server in size["servers"].items():
            if "error" in server:
                found.append(f"{size['size']}: {name} did not start: {server['error']}")
        for check in size["queries"]:
            if not check["agree"]:
                details = f"counts {check['counts']}, errors {check['errors']}"
                found.append(f"{size['size']}: result counts differ for {check['name']}: {details}")
        for point in size["points"]:
            if "error" in point:
                found.append(f"{_where(size, point)}: {point['error']}")
    return found


def busy_points(results: dict[str, Any]) -> int:
    """Points during which other processes (not the servers, wrk or the harness) used more
    than BUSY_PCT % of the CPUs."""
    points = (p for s in results["sizes"] for p in s["points"])
    return sum(1 for p in points if p.get("other_cpu_pct", 0) > BUSY_PCT)


def _where(size: dict[str, Any], point: dict[str, Any]) -> str:
    return f"{size['size']}: {point['server']} {point['name']} c={point['concurrency']}"


def load_errors(results: dict[str, Any]) -> list[str]:
    """Non-2xx answers, socket errors and timeouts counted by wrk, per point."""
    found = []
    for size in results["sizes"]:
        for point in size["points"]:
            if point.get("error_total"):
                where = _where(size, point)
                counts = ", ".join(f"{k} {v}" for k, v in point["errors"].items() if v)
                found.append(f"{where}: {counts} (of {point['requests']} requests)")
    return found


# --- Markdown -------------------------------------------------------------------------------


ORDER = ("emk", EMK_CACHE_SERIES, *PEERS)


def _servers(size: dict[str, Any]) -> list[str]:
    """Servers with points, in the fixed column order (the project first, then its peers)."""
    names = set(p["server"] for p in size["points"])
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _index(size: dict[str, Any]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(p["server"], p["name"], p["concurrency"]): p for p in size["points"]}


def _rows(size: dict[str, Any]) -> list[tuple[str, str, int]]:
    seen = dict.fromkeys((p["kind"], p["name"], p["concurrency"]) for p in size["points"])
    return list(seen)


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _cell(point: dict[str, Any] | None, field: str) -> str:
    if point is None:
        return "-"
    if "skipped" in point:
        return "skipped"
    if "error" in point:
        return "error"
    if not point["ok"]:  # every request outlasted the point: no latency was measured
        return f"none in {point['seconds']:.0f} s" if field == "rps" else "-"
    text = _num(point[field])
    return f"{text} ⚠{point['error_total']} err" if point.get("error_total") else text


def _ratio(base: dict[str, Any] | None, peer: dict[str, Any] | None) -> str:
    usable = [p for p in (base, peer) if p and "rps" in p]
    if len(usable) < 2 or not peer or not peer["rps"]:
        return "-"
    assert base is not None
    return f"{base['rps'] / peer['rps']:.2f}x"


def throughput_table(
    size: dict[str, Any], base: str, fields: tuple[str, ...], ratios: bool = True
) -> list[str]:
    """Rows = query kind by concurrency; per server the ``fields``; req/s of base ÷ each peer."""
    peers = [s for s in _servers(size) if s in PEERS]
    ratio_peers = peers if ratios else []
    shown = [base, *peers]
    labels = {"rps": "req/s", "p50_ms": "p50 ms", "p99_ms": "p99 ms"}
    head = ["kind", "query", "c"]
    head += [f"{s} {labels[f]}" for s in shown for f in fields]
    head += [f"{base} ÷ {p}" for p in ratio_peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    index, agree = _index(size), {q["name"]: q["agree"] for q in size["queries"]}
    for kind, name, conc in _rows(size):
        flag = "" if agree.get(name, True) else " ⚠ counts differ"
        cells = [kind, f"{name}{flag}", str(conc)]
        cells += [_cell(index.get((s, name, conc)), f) for s in shown for f in fields]
        base_point = index.get((base, name, conc))
        cells += [_ratio(base_point, index.get((p, name, conc))) for p in ratio_peers]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def counts_table(size: dict[str, Any]) -> list[str]:
    servers = list(dict.fromkeys(s for q in size["queries"] for s in [*q["counts"], *q["errors"]]))
    lines = ["| kind | query | form | " + " | ".join(servers) + " | agree |"]
    lines.append("|" + "---|" * (len(servers) + 4))
    for q in size["queries"]:
        cells = [str(q["counts"].get(s, "error" if s in q["errors"] else "-")) for s in servers]
        agree = "yes" if q["agree"] else "**NO**"
        lines.append(f"| {q['kind']} | {q['name']} | {q['form']} | {' | '.join(cells)} | {agree} |")
    return lines


def build_table(size: dict[str, Any]) -> list[str]:
    build = size["build"]
    lines = ["| build stage | seconds |", "|---|---|"]
    lines += [f"| {stage} | {seconds:.2f} |" for stage, seconds in build.get("timings", {}).items()]
    if "generate_s" in build:
        lines.append(f"| (synthetic generation, before the build) | {build['generate_s']:.2f} |")
    lines.append(f"| **build total** (in-process) | {build.get('wall_s', 0):.2f} |")
    lines.append(
        f"| peak RSS of the largest build process (MB) | {build.get('peak_rss_mb', 0):,.0f} |"
    )
    if "tree_peak_pss_mb" in build:
        tree = f"{build['tree_peak_pss_mb']:,.0f} / {build['tree_peak_rss_mb']:,.0f}"
        lines.append(f"| peak PSS / RSS of all build processes, summed (MB) | {tree} |")
    if build.get("cached"):
        lines.append("| (cached: timings recorded when this edition was built) | |")
    return lines


def memory_table(size: dict[str, Any]) -> list[str]:
    head = "| server | start-up s | of which load s | peak RSS MB (sum) | peak PSS MB (sum) "
    head += "| RSS after load MB | PSS after load MB | processes |"
    lines = [head, "|" + "---|" * 8]
    for name, s in size["servers"].items():
        if "error" in s:
            lines.append(f"| {name} | did not start | | | | | | |")
            continue
        load = s.get("load_s", "")
        values = [
            f"{s['startup_s']:.2f}",
            f"{load:.2f}" if load != "" else "",
            f"{s['peak_rss_mb']:,.0f}",
            f"{s['peak_pss_mb']:,.0f}",
            f"{s['ready_rss_mb']:,.0f}",
            f"{s['ready_pss_mb']:,.0f}",
            str(s["processes"]),
        ]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    disk = [s for s in size["servers"].values() if "load_peak_rss_mb" in s]
    for s in disk:
        lines.append("")
        lines.append(
            f"oxigraph-disk: `oxigraph load` took {s['load_s']:.2f} s, peak RSS "
            f"{s['load_peak_rss_mb']:,.0f} MB; serve-read-only opened in {s['open_s']:.2f} s; "
            f"store on disk {s['disk_mb']:,.1f} MB."
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    m, opts = results["machine"], results["options"]
    out = [
        "# Endpoint benchmark",
        "",
        f"{m['date']} · {m['cpu_count']} CPUs ({m['cpu_model']}) · {m['mem_total_gib']} GiB · "
        f"Python {m['python']} · wrk {opts['duration_s']} s per point, "
        f"GET with `Accept: application/sparql-results+json` (graphs: `application/n-triples`)"
        f" · server query timeout {opts['timeout_s']:g} s.",
        "",
        "Ratios are emk req/s ÷ peer req/s (above 1: emk serves more).",
    ]
    if opts.get("parallel"):
        out += [
            "",
            "**Servers were loaded at the same time (smoke run): numbers are not comparable.**",
        ]
    busy = busy_points(results)
    if busy:
        out += [
            "",
            f"**The machine was busy**: during {busy} points other processes used more than "
            f"{BUSY_PCT:g} % of the CPUs (`other_cpu_pct` in results.json), competing "
            "with the servers and wrk.",
        ]
    found, errors = problems(results), load_errors(results)
    if found:
        out += ["", "## Problems", "", *[f"- {p}" for p in found]]
    if errors:
        out += ["", "## Errors under load (counted by wrk)", "", *[f"- {e}" for e in errors]]
    for size in results["sizes"]:
        out += _size_section(size)
    return "\n".join(out) + "\n"


def _size_section(size: dict[str, Any]) -> list[str]:
    out = ["", f"## {size['size']} — {size['quads']:,} quads", ""]
    out += ["### Throughput and latency (emk result cache off)", ""]
    out += throughput_table(size, "emk", ("rps", "p50_ms", "p99_ms"))
    if EMK_CACHE_SERIES in _servers(size):
        out += ["", f"### {EMK_CACHE_SERIES}: emk with its result cache on", ""]
        out += throughput_table(size, EMK_CACHE_SERIES, ("rps", "p50_ms", "p99_ms"))
    cost = evaluation_cost_table(size)
    if cost:
        out += ["", "### emk: evaluator processes against in-thread evaluation (emk-thread)", ""]
        out += cost
    mix = hostile_table(size)
    if mix:
        out += ["", "### Hostile mix: 16 never-ending queries + 16 lookup clients", "", *mix]
    out += ["", "### Result counts (checked before timing)", "", *counts_table(size)]
    out += ["", "### Build stages", "", *build_table(size)]
    out += ["", "### Start-up and memory", "", *memory_table(size)]
    return out


def printed(results: dict[str, Any]) -> str:
    """The ratio table for the terminal: req/s per server and emk ÷ peer, then p99."""
    out = []
    for size in results["sizes"]:
        out += ["", f"== {size['size']} ({size['quads']:,} quads): req/s and emk ÷ peer"]
        out += throughput_table(size, "emk", ("rps",))
        if EMK_CACHE_SERIES in _servers(size):
            out += ["", f"== {size['size']}: {EMK_CACHE_SERIES} (emk with its result cache on)"]
            out += throughput_table(size, EMK_CACHE_SERIES, ("rps",))
        out += ["", f"== {size['size']}: p99 latency (ms)"]
        out += throughput_table(size, "emk", ("p99_ms",), ratios=False)
        cost = evaluation_cost_table(size)
        if cost:
            out += ["", f"== {size['size']}: evaluator processes ÷ threads", *cost]
        mix = hostile_table(size)
        if mix:
            out += ["", f"== {size['size']}: hostile mix", *mix]
    errors = load_errors(results)
    if errors:
        out += ["", "Errors under load (counted by wrk):", *[f"  - {e}" for e in errors]]
    found = problems(results)
    if found:
        out += ["", "PROBLEMS (the comparison is doubtful):", *[f"  - {p}" for p in found]]
    return "\n".join(out)


# --- Chart ----------------------------------------------------------------------------------


def chart(results: dict[str, Any], path: Path) -> None:
    """Throughput and p99 by size (rows) and query by concurrency (x), one bar per server."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [s for s in results["sizes"] if s["points"]]
    if not sizes:
        return
    rows = max(len(_rows(s)) for s in sizes)
    fig, axes = plt.subplots(
        len(sizes), 2, figsize=(max(12, rows * 1.1), 4.2 * len(sizes)), squeeze=False
    )
    for row, size in enumerate(sizes):
        for col, (field, label) in enumerate((("rps", "req/s"), ("p99_ms", "p99 latency (ms)"))):
            _bars(axes[row][col], size, field)
            axes[row][col].set_title(f"{size['size']} ({size['quads']:,} quads): {label}")
            axes[row][col].set_ylabel(f"{label}, log scale")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (4.2 * len(sizes))))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _bars(ax: Any, size: dict[str, Any], field: str) -> None:
    servers, rows, index = _servers(size), _rows(size), _index(size)
    width = 0.8 / max(1, len(servers))
    for i, server in enumerate(servers):
        values = []
        for _, name, conc in rows:
            point = index.get((server, name, conc))
            values.append(point[field] if point and point.get(field) else 0)
        xs = [x + i * width for x in range(len(rows))]
        ax.bar(xs, values, width, label=server)
    ax.set_yscale("log")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(rows))])
    labels = [f"{kind}: {name} c={c}" for kind, name, c in rows]
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
