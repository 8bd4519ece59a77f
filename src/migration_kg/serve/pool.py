"""The worker's side of evaluator processes: a deadline that frees the CPU, heavy queries demoted.

Each user query runs in an evaluator process (evaluators.py) forked from a zygote copy of the
loaded store. ``size`` *quick* evaluators at normal priority serve queries in turn (callers wait
in FIFO order). A query still running after ``heavy_after_s`` is *heavy*: its evaluator drops to
idle CPU priority (cheap queries on any core pre-empt it) and leaves the quick set, which gets a
fresh evaluator in its place. At the deadline, or when its caller goes away, an evaluation is
killed with SIGKILL: its CPU is free at once. A *background* query (from a client the web layer
knows for heavy queries) starts on its own evaluator at nice 10 (idle priority too once heavy). A
lowered evaluator serves
one query and is retired: the kernel does not let it back to normal priority, and the pages a
long query unshared from the store go with it.

The event loop talks to evaluators without threads: a job is written to the evaluator's socket
and the answer read when the loop sees it readable (``add_reader``). Works from any event loop
and thread (tests share one pool between several); pool state is guarded by one lock. A small
sampler thread kills an evaluation whose memory grows past ``max_query_mb`` and records each
evaluator's resident memory for the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from collections import deque
from typing import Any

import pyoxigraph as ox

from migration_kg.core.errors import QueryAborted, QueryTimeout, ServerBusy
from migration_kg.serve.calls import Call, Evaluator, current_probe, take_hello
from migration_kg.serve.evaluation import Answer, Choices, Job
from migration_kg.serve.evaluators import (
    FormatRefused,
    job_message,
    lower_priority,
    read_reply,
    request_evaluator,
    restore_priority,
    start_zygote,
)

log = logging.getLogger(__name__)

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_SAMPLE_S = 0.25


class EvaluatorPool:
    """Killable evaluations for one worker process; ``start`` before use, ``close`` after."""

    def __init__(
        self,
        store: ox.Store,
        prefixes: dict[str, str],
        size: int,
        heavy_after_s: float,
        max_query_mb: int,
        stack_bytes: int,
    ) -> None:
        self._store, self._prefixes = store, prefixes
        self._stack_bytes = stack_bytes  # each evaluator's stack may grow this far (intake.py)
        self.size, self.heavy_after_s = max(1, size), heavy_after_s
        self.max_query_mb = max_query_mb
        self._max_growth = max_query_mb * 2**20
        self._lock = threading.Lock()
        self._idle: list[Evaluator] = []  # quick evaluators waiting for a job (LIFO: warm caches)
        self._all: set[Evaluator] = set()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[Evaluator]]] = deque()
        self._zygote: tuple[int, socket.socket] | None = None
        self._pid = 0
        self._baseline = 0
        self._stopping = threading.Event()
        self.counts = {"spawned": 0, "killed_deadline": 0, "killed_gone": 0, "killed_memory": 0}
        self.counts |= {"died": 0, "lowered": 0}

    # -- life cycle -------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._zygote is not None and self._pid == os.getpid()

    def start(self) -> None:
        """Fork the zygote and the quick evaluators (call while the process is quiet)."""
        with self._lock:
            if self.started:
                return
            self._forget_inherited()
            self._pid = os.getpid()
            self._zygote = start_zygote(self._store, self._prefixes, self._stack_bytes)
            self._baseline = resident_bytes(os.getpid())
            quick = [self._spawn() for _ in range(self.size)]
            for evaluator in quick:
                self.ensure_pid(evaluator)  # known from the start: killable, and in the metrics
                self._hand_over(evaluator)
        sampler = threading.Thread(target=self._sample, name="emk-evaluator-sampler", daemon=True)
        sampler.start()

    def _forget_inherited(self) -> None:
        """A forked worker must not use (or kill) its parent's evaluators."""
        self._idle.clear()
        self._all.clear()
        self._waiters.clear()
        self._zygote = None
        self._stopping = threading.Event()

    def close(self) -> None:
        """Kill every evaluator and end the zygote (it exits when its socket closes)."""
        with self._lock:
            if not self.started or self._zygote is None:
                return
            self._stopping.set()
            for evaluator in list(self._all):
                self._discard(evaluator)
            pid, sock = self._zygote
            self._zygote = None
            sock.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

    def stats(self) -> dict[str, Any]:
        """Counters since start, and the evaluators now alive with their resident memory."""
        with self._lock:
            alive = [(e.pid, e.rss, e.lowered) for e in self._all if e.pid]
        return {**self.counts, "evaluators": alive}

    # -- one query ---------------------------------------------------------------------------

    async def answer(self, job: Job, choices: Choices, background: bool = False) -> Answer:
        """Evaluate ``job`` in an evaluator; kill it at the deadline or if the caller goes away.

        Raises:
            QueryTimeout: past the deadline (``ServerBusy`` if no evaluator was free in time).
            QueryAborted: the evaluation went over its memory limit or its process died.
            MigrationKGError: what the evaluation raised (syntax, 400, 406 …).
        """
        if not self.started:
            self.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + job.timeout
        message = job_message(job, choices, background)
        reply = await self._evaluate(loop, message, deadline, job.timeout, background)
        if reply is None:  # its evaluator died at once (killed while idle?): one more try
            reply = await self._evaluate(loop, message, deadline, job.timeout, background, True)
        assert reply is not None  # a last try raises instead
        _, value, _ = read_reply(reply)
        if isinstance(value, Answer):
            return value
        if isinstance(value, FormatRefused):
            raise choices[value.family]  # type: ignore[index,misc]
        raise value

    async def _evaluate(
        self,
        loop: asyncio.AbstractEventLoop,
        message: bytes,
        deadline: float,
        timeout: float,
        background: bool,
        last_try: bool = False,
    ) -> tuple[str, Any, float] | None:
        """One attempt; None if the evaluator died without a word within the heavy threshold."""
        probe = current_probe.get()
        if probe is not None:  # the web layer may ask how much CPU this job has used
            probe.used = True
        evaluator = await self._acquire(loop, background, deadline, timeout)
        if probe is not None:
            probe.evaluator, probe.since = evaluator, loop.time()
        call = Call(self, evaluator, loop)
        started = loop.time()
        try:
            reply = await call.run(message, deadline, timeout, background)
        except QueryAborted as exc:
            self._abandon(evaluator, exc)
            quick = loop.time() - started < self.heavy_after_s
            if quick and not evaluator.over_memory and not last_try:
                return None
            raise
        except BaseException as exc:
            self._abandon(evaluator, exc)
            raise
        finally:
            call.detach()
            if probe is not None:
                probe.evaluator = None
        evaluator.cpu = float(reply[2])
        self._release(evaluator)
        return reply

    async def _acquire(
        self,
        loop: asyncio.AbstractEventLoop,
        background: bool,
        deadline: float,
        timeout: float,
    ) -> Evaluator:
        """A quick evaluator (waiting in line for one), or a fresh one for a background job."""
        with self._lock:
            if background:
                evaluator = self._spawn()
                evaluator.lowered = True  # it lowers itself (nice 10) before running the job
                return evaluator
            if self._idle:
                return self._idle.pop()
            waiter: asyncio.Future[Evaluator] = loop.create_future()
            self._waiters.append((loop, waiter))
        expiry = loop.call_at(deadline, _expire_waiter, waiter)
        try:
            return await waiter
        except TimeoutError:
            raise ServerBusy(
                f"server busy: no evaluation slot within {timeout:g} s", max(1, round(timeout))
            ) from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())  # handed over just as the caller left
            raise
        finally:
            expiry.cancel()
            with self._lock, contextlib.suppress(ValueError):
                self._waiters.remove((loop, waiter))

    def _release(self, evaluator: Evaluator) -> None:
        """Back to the quick set (or to the next caller in line); lowered ones are retired."""
        with self._lock:
            evaluator.busy = False
            if evaluator.lowered or evaluator.over_memory or self._stopping.is_set():
                self._discard(evaluator)
                if evaluator.over_memory and not evaluator.lowered:
                    self._hand_over(self._spawn())
                return
            self._hand_over(evaluator)

    def _hand_over(self, evaluator: Evaluator) -> None:
        """Give a quick evaluator to the first caller still waiting, else keep it; lock held."""
        while self._waiters:
            loop, waiter = self._waiters.popleft()
            if waiter.done():
                continue
            if _running_loop() is loop:
                waiter.set_result(evaluator)
            else:
                loop.call_soon_threadsafe(self._deliver, waiter, evaluator)
            return
        evaluator.busy = False
        self._idle.append(evaluator)

    def _deliver(self, waiter: asyncio.Future[Evaluator], evaluator: Evaluator) -> None:
        """On the waiter's loop: hand over, or put back if it gave up meanwhile."""
        if waiter.done():
            self._release(evaluator)
        else:
            waiter.set_result(evaluator)

    def _abandon(self, evaluator: Evaluator, exc: BaseException) -> None:
        """The job did not come back: kill its evaluator and replace it if it was a quick one."""
        reason = "killed_gone" if isinstance(exc, asyncio.CancelledError) else "killed_deadline"
        if isinstance(exc, QueryAborted):
            reason = "killed_memory" if evaluator.over_memory else "died"
        elif not isinstance(exc, QueryTimeout | asyncio.CancelledError):
            reason = "died"
        with self._lock:
            self.counts[reason] += 1
            self._discard(evaluator)
            if not evaluator.lowered and not self._stopping.is_set():
                self._hand_over(self._spawn())

    def lower(self, evaluator: Evaluator, idle: bool) -> None:
        """The job turned heavy: out of the quick set (a fresh one in its place), and at idle
        priority once it used its CPU budget. Slow only in wall time (a saturated machine), it
        keeps its priority: a cheap query must not starve, and a runaway one takes at most its
        CPU budget at normal priority before it is idle."""
        with self._lock:
            if evaluator.idle or evaluator not in self._all or not evaluator.pid:
                return
            if idle:
                lower_priority(evaluator.pid)
                evaluator.idle = True
            elif evaluator.lowered:
                return
            quick = not evaluator.lowered
            evaluator.lowered = True
            if quick:
                self.counts["lowered"] += 1
                if not self._stopping.is_set():
                    self._hand_over(self._spawn())

    # -- processes ---------------------------------------------------------------------------

    def _spawn(self) -> Evaluator:
        """Ask the zygote for a new evaluator (restarting the zygote if it died); lock held."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                assert self._zygote is not None
                request_evaluator(self._zygote[1], theirs)
            except OSError:
                self._restart_zygote()
                assert self._zygote is not None
                request_evaluator(self._zygote[1], theirs)
        finally:
            theirs.close()
        ours.setblocking(False)
        evaluator = Evaluator(ours)
        self._all.add(evaluator)
        self.counts["spawned"] += 1
        return evaluator

    def _restart_zygote(self) -> None:
        log.warning("the evaluator zygote died; starting another")
        if self._zygote is not None:
            pid, sock = self._zygote
            sock.close()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        self._zygote = start_zygote(self._store, self._prefixes, self._stack_bytes)

    def _discard(self, evaluator: Evaluator) -> None:
        """Kill an evaluator and forget it; lock held."""
        self._all.discard(evaluator)
        with contextlib.suppress(ValueError):
            self._idle.remove(evaluator)
        if evaluator.pid:
            if evaluator.lowered:
                restore_priority(evaluator.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(evaluator.pid, signal.SIGKILL)
        evaluator.sock.close()  # an evaluator still starting exits when it reads end of file

    def ensure_pid(self, evaluator: Evaluator) -> None:
        """Wait (briefly, blocking) for a starting evaluator's "ready" so that it can be killed."""
        if evaluator.pid or evaluator.sock.fileno() < 0:
            return
        evaluator.sock.settimeout(2.0)
        try:
            while not evaluator.pid:
                chunk = evaluator.sock.recv(1 << 16)
                if not chunk:
                    return
                evaluator.inbox += chunk
                take_hello(evaluator)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                evaluator.sock.setblocking(False)

    def _sample(self) -> None:
        """Every quarter second: resident memory of each evaluator; kill one over its limit."""
        while not self._stopping.wait(_SAMPLE_S):
            with self._lock:
                evaluators = [e for e in self._all if e.pid]
            for evaluator in evaluators:
                evaluator.rss = resident_bytes(evaluator.pid)
                growth = evaluator.rss - self._baseline
                if self._max_growth and evaluator.busy and growth > self._max_growth:
                    evaluator.over_memory = True
                    if evaluator.lowered:
                        restore_priority(evaluator.pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(evaluator.pid, signal.SIGKILL)


def _expire_waiter(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def resident_bytes(pid: int) -> int:
    """Resident memory of ``pid`` in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0
