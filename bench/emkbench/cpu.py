"""How much of the machine other processes used during a point (they skew every number).

On a shared 2-core machine a build or a test suite running next to the benchmark halves what
the server gets. The whole machine's busy time (/proc/stat) minus what the measured servers,
wrk and the harness used is "other": recorded per point and flagged in the report.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from emkbench.procs import tree

TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds all CPUs spent busy since boot (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its live descendants."""
    total = 0
    for member in tree(pid):
        with suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{member}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def own_cpu_s() -> float:
    """The harness's CPU seconds plus those of its finished children (wrk)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class OtherLoad:
    """Measures the CPU share of everything but ``pids`` (and the harness, wrk) in a window."""

    pids: tuple[int, ...]
    started: float = 0.0
    busy: float = 0.0
    ours: float = 0.0

    def start(self) -> OtherLoad:
        self.started, self.busy, self.ours = time.monotonic(), machine_busy_s(), self._ours()
        return self

    def _ours(self) -> float:
        return own_cpu_s() + sum(tree_cpu_s(pid) for pid in self.pids)

    def stop(self) -> float:
        """Percent of all CPUs used by other processes since ``start`` (0 to 100)."""
        elapsed = (time.monotonic() - self.started) * (os.cpu_count() or 1)
        other = (machine_busy_s() - self.busy) - (self._ours() - self.ours)
        return round(max(0.0, 100 * other / elapsed), 1) if elapsed > 0 else 0.0


def watch(pids: Iterable[int]) -> OtherLoad:
    return OtherLoad(tuple(pids)).start()
