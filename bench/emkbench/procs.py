"""Child processes: started in their own process group, always stopped, memory sampled.

Each server runs in a new session so that stopping it (SIGTERM, then SIGKILL) also stops any
workers it forked, and so that a Ctrl-C in the terminal reaches only the harness, whose
``finally`` blocks then stop everything in order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_EVERY_S = 0.2
KiB = 1024


def spawn(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session; stdout discarded (access logs), stderr to ``log``."""
    with log.open("ab") as err:
        return subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace_s``; never raises."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    _signal_group(process.pid, signal.SIGKILL)  # stragglers a worker manager left behind
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (via /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; (0, 0) once it is gone."""
    rss = pss = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


@dataclass
class MemorySampler:
    """Samples a process tree's summed RSS and PSS every 0.2 s in a background thread.

    PSS is the honest figure for multi-process servers (shared pages are split between the
    processes that share them); summed RSS counts shared pages once per process.
    """

    pid: int
    peak_rss_kib: int = 0
    peak_pss_kib: int = 0
    processes: int = 0
    active: bool = True  # paused while other servers are measured: reading PSS costs CPU
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def sample(self) -> tuple[int, int]:
        """Take one sample now (also updates the peaks); returns summed (RSS, PSS) KiB."""
        pids = tree(self.pid)
        rss = pss = 0
        for pid in pids:
            one_rss, one_pss = memory_kib(pid)
            rss, pss = rss + one_rss, pss + one_pss
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        self.peak_pss_kib = max(self.peak_pss_kib, pss)
        self.processes = max(self.processes, len(pids))
        return rss, pss

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            if self.active:
                self.sample()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def peaks_mb(self) -> dict[str, float | int]:
        return {
            "peak_rss_mb": round(self.peak_rss_kib / KiB, 1),
            "peak_pss_mb": round(self.peak_pss_kib / KiB, 1),
            "processes": self.processes,
        }


def wait_until(check: Callable[[], bool], timeout_s: float, every_s: float = 0.1) -> float:
    """Call ``check()`` until it returns true; seconds waited, or raise TimeoutError."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(every_s)
    raise TimeoutError(f"not ready within {timeout_s:g} s")
