"""One job on one evaluator process, as the worker's event loop sees it (pool.py owns the pool).

The job is written to the evaluator's socket and the answer read when the loop sees the socket
readable; a timer lowers the evaluator to idle priority when the job turns heavy, another ends
the job at its deadline. An evaluator's first message, ``("ready", pid)``, may arrive with the
answer: it is taken first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from migration_kg.core.errors import QueryAborted, QueryTimeout
from migration_kg.serve.evaluators import HEADER, decode

_CHUNK = 1 << 20
WALL_FACTOR = 4
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(eq=False)
class Evaluator:
    """One evaluator process as the worker sees it (``pid`` 0 until it has said "ready")."""

    sock: socket.socket
    pid: int = 0
    lowered: bool = False  # below normal priority (then retired after its job)
    idle: bool = False  # at idle priority (SCHED_IDLE)
    busy: bool = False
    over_memory: bool = False
    rss: int = 0  # bytes, from the sampler
    cpu: float = 0.0  # CPU seconds it had used when its last job ended
    inbox: bytearray = field(default_factory=bytearray)


class Owner(Protocol):
    """What a call needs from its pool."""

    heavy_after_s: float
    max_query_mb: int

    def lower(self, evaluator: Evaluator, idle: bool) -> None: ...

    def ensure_pid(self, evaluator: Evaluator) -> None: ...


class Call:
    """One job on one evaluator: send, wait for the reply, lower it when it turns heavy."""

    def __init__(self, pool: Owner, evaluator: Evaluator, loop: asyncio.AbstractEventLoop) -> None:
        self.pool, self.evaluator, self.loop = pool, evaluator, loop
        self.reply: asyncio.Future[tuple[str, Any, float]] = loop.create_future()
        self.handles: list[asyncio.TimerHandle] = []
        self.reading = False
        self.started = 0.0

    async def run(
        self, message: bytes, deadline: float, timeout: float, background: bool
    ) -> tuple[str, Any, float]:
        evaluator, loop = self.evaluator, self.loop
        evaluator.busy = True
        self.started = loop.time()
        try:
            sent = _send_now(evaluator.sock, message)
            if sent < len(message):  # a full socket buffer (a long query): wait for room
                await loop.sock_sendall(evaluator.sock, memoryview(message)[sent:])
        except OSError:
            raise QueryAborted("the evaluator process ended unexpectedly; please retry") from None
        loop.add_reader(evaluator.sock.fileno(), self._readable)
        self.reading = True
        self.handles.append(loop.call_at(deadline, self._expire, timeout))
        self.handles.append(loop.call_later(self.pool.heavy_after_s, self._heavy))
        return await self.reply

    def detach(self) -> None:
        for handle in self.handles:
            handle.cancel()
        if self.reading:
            with contextlib.suppress(ValueError, OSError):
                self.loop.remove_reader(self.evaluator.sock.fileno())
            self.reading = False

    def _heavy(self) -> None:
        """Lower the evaluator once its job has used ``heavy_after_s`` of CPU (not wall time:
        on a busy machine a cheap job can wait that long for a core)."""
        self._readable()  # a "ready" not read yet brings the pid
        if self.reply.done():
            return
        used, budget = job_cpu(self.evaluator), self.pool.heavy_after_s
        if used is None or used >= budget:
            self.pool.lower(self.evaluator, idle=True)
            return
        if is_heavy(used, self.loop.time() - self.started, budget):
            # Slow in wall time only (a busy machine?): out of the quick set, priority kept.
            self.pool.lower(self.evaluator, idle=False)
        later = max(budget - used, budget / 4)
        self.handles.append(self.loop.call_later(later, self._heavy))

    def _expire(self, timeout: float) -> None:
        if not self.reply.done():
            self.pool.ensure_pid(self.evaluator)
            self.reply.set_exception(QueryTimeout(f"query exceeded the {timeout:g} s timeout"))

    def _readable(self) -> None:
        """Read what has arrived; resolve the reply once a whole answer is in."""
        evaluator = self.evaluator
        ended = False
        try:
            while True:
                chunk = evaluator.sock.recv(_CHUNK)
                if not chunk:
                    ended = True
                    break
                evaluator.inbox += chunk
                if len(chunk) < _CHUNK:  # most likely drained: spare the EAGAIN round trip
                    break
        except BlockingIOError:
            pass
        except OSError:
            ended = True
        take_hello(evaluator)
        reply = take_frame(evaluator.inbox)
        if self.reply.done():
            return
        if reply is not None:
            self.reply.set_result(reply)
        elif ended:
            self._fail()

    def _fail(self) -> None:
        """End of file: the evaluator died (killed for memory, or crashed)."""
        if self.evaluator.over_memory:
            limit = self.pool.max_query_mb
            message = f"query needed more than the {limit} MB memory limit"
        else:
            message = "the evaluator process ended unexpectedly; please retry"
        self.reply.set_exception(QueryAborted(message))
        self.detach()


def take_hello(evaluator: Evaluator) -> None:
    """Consume a leading ``("ready", pid, cpu)`` from the inbox, once."""
    if not evaluator.pid:
        message = take_frame(evaluator.inbox)
        if message is not None:
            evaluator.pid, evaluator.cpu = int(message[1]), float(message[2])


def job_cpu(evaluator: Evaluator | None) -> float | None:
    """CPU seconds the evaluator's current job has used (None if unknown: not started yet)."""
    if evaluator is None or not evaluator.pid:
        return None
    try:
        with open(f"/proc/{evaluator.pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS - evaluator.cpu


class Probe:
    """Lets the web layer ask how much CPU its request's evaluation has used so far.

    Set in ``current_probe`` around a request; the pool records the evaluator it runs on.
    Wall time is no measure of a query's cost on a busy machine; CPU time is.
    """

    __slots__ = ("evaluator", "since", "used")

    def __init__(self) -> None:
        self.used = False  # the request went to an evaluator process (else: unknown cost)
        self.evaluator: Evaluator | None = None
        self.since = 0.0  # loop time its evaluation started

    def cpu(self) -> float | None:
        """CPU seconds used so far: 0 while waiting for an evaluator, None if not known."""
        if self.used and self.evaluator is None:
            return 0.0
        return job_cpu(self.evaluator)

    def running_for(self, now: float) -> float:
        return now - self.since if self.evaluator is not None else 0.0


def is_heavy(cpu: float | None, running: float, budget: float) -> bool:
    """Heavy: ``budget`` seconds of CPU used, or ``WALL_FACTOR`` times that while running (on a
    saturated machine a runaway query gets little CPU, and must not hold a quick slot long);
    with the CPU unknown, ``budget`` of wall time."""
    if cpu is None:
        return True
    return cpu >= budget or running >= WALL_FACTOR * budget


current_probe: ContextVar[Probe | None] = ContextVar("emk_probe", default=None)


def take_frame(inbox: bytearray) -> Any:
    """Remove and decode one complete message from ``inbox``; None if it is not all there."""
    if len(inbox) < HEADER.size:
        return None
    size = HEADER.unpack_from(inbox)[0]
    end = HEADER.size + size
    if len(inbox) < end:
        return None
    message = decode(bytes(memoryview(inbox)[HEADER.size : end]))
    del inbox[:end]
    return message


def _send_now(sock: socket.socket, message: bytes) -> int:
    """What the socket takes at once (a job message usually fits): asyncio's ``sock_sendall``
    costs a future and its bookkeeping per request even when nothing needs waiting for."""
    try:
        return sock.send(message)
    except BlockingIOError:
        return 0
