"""Reading /proc: a process tree, its CPU use, scheduling — what "the CPU is free" means."""

from __future__ import annotations

import os
import time
from pathlib import Path


def children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found |= {int(c) for c in (task / "children").read_text().split()}
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def descendants(pid: int) -> set[int]:
    found, pending = set(), [pid]
    while pending:
        for child in children(pending.pop()):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def state(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[0] if fields else None


def cpu_ticks(pids: set[int]) -> int:
    """utime + stime of every thread of ``pids`` (0 for those gone)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total


def tree_is_idle(root: int, seconds: float = 0.3) -> bool:
    """No process under ``root`` (nor itself) used CPU for ``seconds``, none is running."""
    pids = descendants(root)
    before = cpu_ticks(pids)
    time.sleep(seconds)
    running = [p for p in pids if state(p) == "R"]
    return cpu_ticks(pids) == before and not running


def wait_idle(root: int, within: float) -> float:
    """Seconds until the tree under ``root`` is idle; raises if it is not within ``within``."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if tree_is_idle(root, 0.25):
            return time.monotonic() - started
    busy = {p: (state(p), cpu_ticks({p})) for p in descendants(root) | {root}}
    raise AssertionError(f"processes under {root} still used CPU after {within} s: {busy}")


def is_idle_priority(pid: int) -> bool:
    try:
        return os.sched_getscheduler(pid) == os.SCHED_IDLE
    except (ProcessLookupError, OSError):
        return False
