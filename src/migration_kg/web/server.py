"""Run the web app under uvicorn in one or several processes that share the loaded release.

One Python process tops out at about one core of HTTP handling (the GIL), so ``run`` builds the
app once (loading the release; errors surface before anything is forked), forks ``workers``
children that inherit it copy-on-write, and then drops its own copy: the parent only supervises.
Sharing lasts only as long as pages are not written, and pyoxigraph's in-memory store writes
reference counts as it reads, so a worker that scans the whole store ends up with its own copy;
a parent still holding a third copy would put a million-quad graph over 1.5 GB with two workers.

The parent restarts a worker that dies (the new one loads the release itself, the parent no
longer having it) and, on SIGTERM or SIGINT, stops every worker (SIGTERM, then SIGKILL after the
grace period) and returns. Workers ask the kernel for SIGTERM should the parent die uncleanly.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import mmap
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

AppFactory = Callable[[], ASGIApp]
SignalSet = set[int | signal.Signals]
BACKLOG = 2048
GRACE_S = 10.0
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_PR_SET_PDEATHSIG = 1
_STARTUP_FAILURE = 3  # uvicorn's exit code when the app cannot start


class WorkerStats:
    """Counts the supervisor shares with its workers: anonymous shared memory, made before the
    fork, so that every worker reads (for /health) what the parent writes. One 8-byte counter
    today, worker restarts; a metrics endpoint can read the same object."""

    def __init__(self) -> None:
        self._memory = mmap.mmap(-1, 8)

    @property
    def restarts(self) -> int:
        """Workers that died and were replaced since the server started."""
        return int.from_bytes(self._memory[:8], "little")

    def count_restart(self) -> None:
        self._memory[:8] = (self.restarts + 1).to_bytes(8, "little")


def default_workers() -> int:
    """One process per CPU: each one's event loop is limited to about one core by the GIL."""
    return max(1, os.cpu_count() or 1)


def listen(host: str, port: int, count: int = 1) -> list[socket.socket]:
    """Bind ``count`` listening sockets to one address before forking: one per worker.

    A single shared socket lets whichever worker wakes first accept every waiting connection
    (a benchmark's 16 connections split 14/2), leaving one core idle. With SO_REUSEPORT the
    kernel spreads connections over the sockets; the parent keeps them all open, so connections
    queued on the socket of a worker that died wait for its replacement instead of being reset.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reuse_port = count > 1 and hasattr(socket, "SO_REUSEPORT")

    def bind(address: tuple[str, int]) -> socket.socket:
        return socket.create_server(address, family=family, backlog=BACKLOG, reuse_port=reuse_port)

    sockets = [bind((host, port))]
    address = sockets[0].getsockname()[:2]  # the real port, when asked for port 0
    sockets += [bind(address) for _ in range(count - 1 if reuse_port else 0)]
    for sock in sockets:
        sock.set_inheritable(True)
    return sockets


def run(
    factory: AppFactory,
    sockets: list[socket.socket],
    workers: int,
    stats: WorkerStats | None = None,
    **options: Any,
) -> None:
    """Build the app with ``factory`` and serve it here (``workers`` 1) or in forked children.

    ``sockets`` come from ``listen``; ``stats`` (if given) counts restarts; ``options`` go to
    ``uvicorn.Config``.
    """
    if workers <= 1:
        config = uvicorn.Config(factory(), **options)
        _freeze()
        uvicorn.Server(config).run(sockets=sockets)
        return
    signals: SignalSet = {*_STOP_SIGNALS, signal.SIGCHLD}
    # Blocked before the app exists, so that every thread it starts (query workers) inherits the
    # block: a thread with SIGCHLD unblocked would swallow it, and no restart would happen.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    supervisor = _Supervisor(factory, sockets, options, stats or WorkerStats())
    try:
        app = factory()
        _freeze()
        for number in range(workers):
            supervisor.fork(number, mask, app)
        del app
        _release_memory()
        log.info("serving with %d worker processes", workers)
        supervisor.watch(signals, mask)
    finally:
        supervisor.stop()
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _freeze() -> None:
    """Exempt everything built so far (the release's indexes) from garbage collection.

    At a million quads a full collection walks ~190,000 long-lived objects and stalls the event
    loop for ~130 ms, a latency spike for every request in flight; frozen objects are never
    scanned, so their pages also stay shared between forked workers.
    """
    gc.collect()
    gc.freeze()


def _release_memory() -> None:
    """Free the parent's copy of the release (the workers keep theirs) and return it to the OS."""
    gc.unfreeze()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class _Supervisor:
    """The parent of the worker processes: starts, restarts and stops them."""

    def __init__(
        self,
        factory: AppFactory,
        sockets: list[socket.socket],
        options: dict[str, Any],
        stats: WorkerStats,
    ) -> None:
        self.factory, self.sockets, self.options, self.stats = factory, sockets, options, stats
        self.children: dict[int, int] = {}  # pid → worker number (which socket it serves)
        self.parent = os.getpid()

    def fork(self, number: int, mask: SignalSet, app: ASGIApp | None = None) -> None:
        """Start worker ``number`` serving ``app``, or an app it builds itself (a restart)."""
        pid = os.fork()
        if pid:
            self.children[pid] = number
            return
        code = _STARTUP_FAILURE
        try:  # the child: never return into the parent's code
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            _die_with_parent(self.parent)
            config = uvicorn.Config(app if app is not None else self.factory(), **self.options)
            code = 1
            sock = self.sockets[number % len(self.sockets)]
            uvicorn.Server(config).run(sockets=[sock])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            log.exception("worker %d failed", os.getpid())
        finally:
            os._exit(code)

    def watch(self, signals: SignalSet, mask: SignalSet) -> None:
        """Wait for a stop signal, restarting workers that exit; stop if one cannot start."""
        while signal.sigwaitinfo(signals).si_signo not in _STOP_SIGNALS:
            for pid, code in _exited(self.children):
                number = self.children.pop(pid)
                if code == _STARTUP_FAILURE:
                    log.error("worker %d could not start; stopping", pid)
                    return
                self.stats.count_restart()
                log.warning(
                    "worker %d exited with %s; starting another (restart %d)",
                    pid,
                    code,
                    self.stats.restarts,
                )
                time.sleep(0.1)  # a crash loop must not spin
                self.fork(number, mask)

    def stop(self) -> None:
        """SIGTERM every child, wait up to the grace period, SIGKILL the rest."""
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        while self.children and time.monotonic() < deadline:
            for pid, _ in _exited(self.children):
                self.children.pop(pid)
            time.sleep(0.05)
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.children.clear()


def _exited(children: dict[int, int]) -> list[tuple[int, int]]:
    """(pid, exit code) of the children that have exited, without blocking."""
    done = []
    for pid in list(children):
        try:
            waited, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done.append((pid, -1))
            continue
        if waited:
            done.append((pid, os.waitstatus_to_exitcode(status)))
    return done


def _die_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the parent dies (a no-op elsewhere), then re-check the parent."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(0)
