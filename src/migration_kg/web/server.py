"""Run the web app under uvicorn in one or several processes that share the loaded release.

One Python process tops out at about one core of HTTP handling (the GIL), so ``run`` builds the
app once (loading the release; errors surface before anything is forked), forks ``workers``
children that inherit it copy-on-write, and then drops its own copy: the parent only supervises.
Sharing lasts only as long as pages are not written, and pyoxigraph's in-memory store writes
reference counts as it reads, so a worker that scans the whole store ends up with its own copy;
a parent still holding a third copy would put a million-quad graph over 1.5 GB with two workers.

The parent restarts a worker that dies (the new one loads the release itself, the parent no
longer having it; the other workers go on serving) and, on SIGTERM or SIGINT, stops every worker
(SIGTERM: each stops accepting, finishes what is in flight, then its evaluators end; SIGKILL
after the grace period) and returns. Once a second it reads each worker's resident memory: a
worker that grew more than ``max_worker_mb`` since it became ready is recycled gracefully — a
replacement is started on the same socket, and only once it serves is the old one told to
drain. Workers ask the kernel for SIGTERM should the parent die uncleanly. Each worker's uvicorn
runs with the connection limits of connection.py.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import mmap
import os
import select
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import multiprocess
from starlette.types import ASGIApp

from migration_kg.core.settings import Settings
from migration_kg.serve.backend import Backend
from migration_kg.serve.pool import resident_bytes
from migration_kg.web.connection import ConnectionLimits, protocol_class
from migration_kg.web.metrics import worker_restarts
from migration_kg.web.middleware import log_refusal

log = logging.getLogger(__name__)

AppFactory = Callable[[], ASGIApp]
SignalSet = set[int | signal.Signals]
BACKLOG = 2048
GRACE_S = 10.0
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_PR_SET_PDEATHSIG = 1
_STARTUP_FAILURE = 3  # uvicorn's exit code when the app cannot start
_CHECK_S = 1.0  # how often the parent reads the workers' memory


def serve_release(
    settings: Settings,
    metrics_dir: Path,
    workers: int | None,
    cache_bytes: int,
    store: str | None = None,
    build_hash: str | None = None,
) -> None:
    """``migration-kg serve``: bind, load the release, fork ``workers`` (default: CPUs), serve.

    ``metrics_dir`` is prometheus_client's multiprocess directory (set before it was imported);
    ``cache_bytes`` > 0 turns the result cache on; ``store`` (a SPARQL query URL) serves the
    release published there (build ``build_hash``, default: its current one) instead of dist/.

    Raises:
        OSError: the address cannot be bound (before anything is loaded).
        SourceError: the release is missing or broken.
    """
    from fastapi import FastAPI

    from migration_kg.web.app import create_app
    from migration_kg.web.cache import ResultCache
    from migration_kg.web.metrics import Metrics

    stats = WorkerStats()

    def build_app() -> FastAPI:
        engine = open_backend(settings, store, build_hash)
        cache = ResultCache(engine.build_hash, cache_bytes) if cache_bytes else None
        app = create_app(settings, engine, result_cache=cache, metrics=Metrics(metrics_dir))
        app.state.worker_stats = stats  # /health reports the supervisor's restarts
        return app

    processes = workers or default_workers()
    sockets = listen(settings.host, settings.port, processes)  # fail before loading
    # The app writes one JSON line per request itself: uvicorn's access log stays off.
    run(
        build_app,
        sockets,
        processes,
        settings,
        stats,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def open_backend(settings: Settings, store: str | None, build_hash: str | None) -> Backend:
    """The embedded engine over dist/, or the release published in ``store``."""
    if store is None:
        from migration_kg.serve.engine import QueryEngine

        return QueryEngine.from_release(settings)
    from migration_kg.serve.remote import RemoteEngine

    return RemoteEngine.connect(settings, store, build_hash)


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
    settings: Settings,
    stats: WorkerStats | None = None,
    **options: Any,
) -> None:
    """Build the app with ``factory`` and serve it here (``workers`` 1) or in forked children.

    ``sockets`` come from ``listen``; ``settings`` give the connection limits, keep-alive and
    the workers' memory ceiling; ``stats`` (if given) counts restarts where the workers can read
    them (/health); ``options`` go to ``uvicorn.Config``.
    """
    if workers <= 1:
        app = factory()
        _freeze()
        uvicorn.Server(_config(app, settings, options)).run(sockets=sockets)
        return
    signals: SignalSet = {*_STOP_SIGNALS, signal.SIGCHLD}
    # Blocked before the app exists, so that every thread it starts (query workers) inherits the
    # block: a thread with SIGCHLD unblocked would swallow it, and no restart would happen.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    supervisor = _Supervisor(factory, sockets, settings, options, stats or WorkerStats())
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


def _config(app: ASGIApp, settings: Settings, options: dict[str, Any]) -> uvicorn.Config:
    """uvicorn's configuration: the guarded protocol (connection.py) and the keep-alive cap."""
    state = getattr(getattr(app, "state", None), "emk", None)
    report = log_refusal(getattr(state, "metrics", None))
    limits = ConnectionLimits.from_settings(settings, report)
    return uvicorn.Config(
        app,
        http=protocol_class(limits),
        timeout_keep_alive=max(1, round(settings.keepalive_timeout_s)),
        **options,
    )


class _ReadyServer(uvicorn.Server):
    """uvicorn's server, telling the supervisor once it accepts requests: its resident memory
    then (the baseline for the memory ceiling), as 8 bytes on a pipe."""

    def __init__(self, config: uvicorn.Config, ready_fd: int) -> None:
        super().__init__(config)
        self.ready_fd = ready_fd

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.ready_fd >= 0:
            with contextlib.suppress(OSError):
                os.write(self.ready_fd, resident_bytes(os.getpid()).to_bytes(8, "big"))
                os.close(self.ready_fd)
            self.ready_fd = -1


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
    """The parent of the worker processes: starts, restarts, recycles and stops them."""

    def __init__(
        self,
        factory: AppFactory,
        sockets: list[socket.socket],
        settings: Settings,
        options: dict[str, Any],
        stats: WorkerStats,
    ) -> None:
        self.factory, self.sockets, self.options = factory, sockets, options
        self.settings, self.stats = settings, stats
        self.children: dict[int, int] = {}  # pid → worker number (which socket it serves)
        self.starting: dict[int, int] = {}  # pid → read end of its ready pipe
        self.baseline: dict[int, int] = {}  # pid → resident bytes once it was ready
        self.replacing: dict[int, int] = {}  # new pid → the pid it replaces once ready
        self.retiring: set[int] = set()  # told to drain; not restarted when they exit
        self.parent = os.getpid()
        self.restarts = worker_restarts() if _multiprocess_metrics() else None

    def fork(self, number: int, mask: SignalSet, app: ASGIApp | None = None) -> int:
        """Start worker ``number`` serving ``app``, or an app it builds itself (a restart)."""
        ready_read, ready_write = os.pipe()
        pid = os.fork()
        if pid:
            os.close(ready_write)
            self.children[pid] = number
            self.starting[pid] = ready_read
            return pid
        code = _STARTUP_FAILURE
        try:  # the child: never return into the parent's code
            os.close(ready_read)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            _die_with_parent(self.parent)
            served = app if app is not None else self.factory()
            config = _config(served, self.settings, self.options)
            code = 1
            sock = self.sockets[number % len(self.sockets)]
            _ReadyServer(config, ready_write).run(sockets=[sock])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            log.exception("worker %d failed", os.getpid())
        finally:
            os._exit(code)

    def watch(self, signals: SignalSet, mask: SignalSet) -> None:
        """Wait for a stop signal; restart workers that exit, recycle those that grew too much.

        Stops if a worker cannot start.
        """
        while True:
            info = signal.sigtimedwait(signals, _CHECK_S)
            if info is not None and info.si_signo in _STOP_SIGNALS:
                return
            if not self._reap(mask):
                return
            self._note_ready()
            self._check_memory(mask)

    def _reap(self, mask: SignalSet) -> bool:
        """Handle exited workers; False if one could not start (the server then stops)."""
        for pid, code in _exited(self.children):
            number = self.children.pop(pid)
            self.baseline.pop(pid, None)
            with contextlib.suppress(OSError):
                os.close(self.starting.pop(pid, -1))
            if self.restarts is not None:
                multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
            if pid in self.retiring:
                self.retiring.discard(pid)
                continue
            if code == _STARTUP_FAILURE:
                log.error("worker %d could not start; stopping", pid)
                return False
            self.stats.count_restart()
            log.warning(
                "worker %d exited with %s; starting another (restart %d)",
                pid,
                code,
                self.stats.restarts,
            )
            if self.restarts is not None:
                self.restarts.labels("died").inc()
            time.sleep(0.1)  # a crash loop must not spin
            self.fork(number, mask)
        return True

    def _note_ready(self) -> None:
        """Record the memory of workers that just became ready; retire the ones they replace."""
        if not self.starting:
            return
        ready, _, _ = select.select(list(self.starting.values()), [], [], 0)
        for pid, fd in list(self.starting.items()):
            if fd not in ready:
                continue
            del self.starting[pid]
            said = b""
            with contextlib.suppress(OSError):
                said = os.read(fd, 8)
            os.close(fd)
            if len(said) != 8:  # it died before serving: _reap deals with it
                continue
            self.baseline[pid] = int.from_bytes(said, "big")
            old = self.replacing.pop(pid, None)
            if old is not None and old in self.children:
                self.retiring.add(old)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(old, signal.SIGTERM)

    def _check_memory(self, mask: SignalSet) -> None:
        """Start a replacement for each worker over its memory ceiling (once)."""
        limit = self.settings.max_worker_mb * 2**20
        if not limit:
            return
        busy = set(self.replacing.values()) | self.retiring
        for pid, baseline in list(self.baseline.items()):
            grown = resident_bytes(pid) - baseline
            if pid in busy or grown <= limit:
                continue
            log.warning("worker %d grew by %d MB; recycling it", pid, grown // 2**20)
            if self.restarts is not None:
                self.restarts.labels("memory").inc()
            self.replacing[self.fork(self.children[pid], mask)] = pid

    def stop(self) -> None:
        """SIGTERM every child, wait up to the grace period, SIGKILL the rest."""
        for fd in self.starting.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self.starting.clear()
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


def _multiprocess_metrics() -> bool:
    """Whether prometheus_client was loaded in multiprocess mode (the CLI's doing)."""
    from prometheus_client import values

    return bool(getattr(values.ValueClass, "_multiprocess", False))


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
