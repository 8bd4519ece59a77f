"""One job on one evaluator process, as the worker's event loop sees it (pool.py owns the pool).

The job is written to the evaluator's socket and the answer read when the loop sees the socket
readable; a timer lowers the evaluator to idle priority when the job turns heavy, another ends
the job at its deadline. An evaluator's first message, ``("ready", pid)``, may arrive with the
answer: it is taken first.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import socket
from dataclasses import dataclass, field
from typing import Any, Protocol

from migration_kg.core.errors import QueryAborted, QueryTimeout
from migration_kg.serve.evaluators import HEADER

_CHUNK = 1 << 20


@dataclass(eq=False)
class Evaluator:
    """One evaluator process as the worker sees it (``pid`` 0 until it has said "ready")."""

    sock: socket.socket
    pid: int = 0
    lowered: bool = False
    busy: bool = False
    over_memory: bool = False
    rss: int = 0  # bytes, from the sampler
    inbox: bytearray = field(default_factory=bytearray)


class Owner(Protocol):
    """What a call needs from its pool."""

    heavy_after_s: float
    max_query_mb: int

    def lower(self, evaluator: Evaluator) -> None: ...

    def ensure_pid(self, evaluator: Evaluator) -> None: ...


class Call:
    """One job on one evaluator: send, wait for the reply, lower it when it turns heavy."""

    def __init__(self, pool: Owner, evaluator: Evaluator, loop: asyncio.AbstractEventLoop) -> None:
        self.pool, self.evaluator, self.loop = pool, evaluator, loop
        self.reply: asyncio.Future[tuple[str, Any]] = loop.create_future()
        self.handles: list[asyncio.TimerHandle] = []
        self.reading = False

    async def run(
        self, message: bytes, deadline: float, timeout: float, background: bool
    ) -> tuple[str, Any]:
        evaluator, loop = self.evaluator, self.loop
        evaluator.busy = True
        try:
            await loop.sock_sendall(evaluator.sock, message)
        except OSError:
            raise QueryAborted("the evaluator process ended unexpectedly; please retry") from None
        loop.add_reader(evaluator.sock.fileno(), self._readable)
        self.reading = True
        self.handles.append(loop.call_at(deadline, self._expire, timeout))
        if not background:
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
        self._readable()  # a "ready" not read yet brings the pid
        if not self.reply.done():
            self.pool.lower(self.evaluator)

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
    """Consume a leading ``("ready", pid)`` from the inbox, once."""
    if not evaluator.pid:
        message = take_frame(evaluator.inbox)
        if message is not None:
            evaluator.pid = int(message[1])


def take_frame(inbox: bytearray) -> Any:
    """Remove and decode one complete message from ``inbox``; None if it is not all there."""
    if len(inbox) < HEADER.size:
        return None
    size = HEADER.unpack_from(inbox)[0]
    end = HEADER.size + size
    if len(inbox) < end:
        return None
    message = pickle.loads(memoryview(inbox)[HEADER.size : end])
    del inbox[:end]
    return message
