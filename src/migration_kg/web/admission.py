"""Fair sharing between clients: per-client limits, two lanes, bounded fair queues (per worker).

Every request that may evaluate a query (everything but /health, /metrics and static files)
enters through ``Admission``:

* A client (clients.py) with ``client_limit`` requests already in flight — running or waiting —
  gets 429 with Retry-After.
* Requests run in the *quick* lane, at most ``max_concurrent`` at once. One still running after
  ``heavy_after_s`` moves to the *heavy* lane (at most ``max_heavy``), freeing its quick slot:
  a few long queries can never take the slots that lookups, pages and other clients need. If
  the heavy lane is full, the request is stopped (503 with Retry-After); the engine has already
  lowered it to idle CPU priority meanwhile.
* A client whose request turned heavy is *flagged*: its next requests wait for the heavy lane
  (and run at idle priority) until one of them finishes quickly, or for ``FLAG_S``. So a client
  that keeps sending expensive queries does not get a quick slot for each of them.
* Waiting requests queue per lane, served round-robin between clients (one client's backlog
  does not delay another's single request), ``queue_limit`` at most per lane: past it, 503.
  A request that waited longer than the query timeout gets 503 as well.

State is per worker process and only touched by its event loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from migration_kg.core.errors import MigrationKGError, ServerBusy
from migration_kg.core.settings import Settings

Lane = Literal["quick", "heavy"]
FLAG_S = 60.0  # how long a client stays in the heavy lane without a quick request
_MAX_CLIENTS = 100_000  # clients remembered (in flight or flagged) before old flags are dropped

# The lane of the request being handled, for the engine call (heavy: start at lower priority).
current_lane: ContextVar[Lane] = ContextVar("emk_lane", default="quick")
# When the request's time is up (event-loop time): waiting for a slot counts against it.
request_deadline: ContextVar[float | None] = ContextVar("emk_deadline", default=None)


def remaining_s() -> float | None:
    """Seconds left before the current request's deadline (None outside admission)."""
    deadline = request_deadline.get()
    if deadline is None:
        return None
    return max(0.05, deadline - asyncio.get_running_loop().time())


class TooManyRequests(MigrationKGError):
    """A client is over its share of concurrent requests (429)."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True)
class Limits:
    """The admission limits of one worker, from the settings."""

    quick: int
    heavy: int
    queue: int
    client: int
    heavy_after_s: float
    wait_s: float

    @classmethod
    def from_settings(cls, settings: Settings, evaluators: int) -> Limits:
        quick = settings.max_concurrent or 2 * max(1, evaluators)
        return cls(
            quick=quick,
            heavy=max(1, settings.max_heavy),
            queue=max(0, settings.queue_limit),
            client=max(1, settings.client_limit),
            heavy_after_s=settings.heavy_after_s,
            wait_s=settings.query_timeout_s,
        )


@dataclass(eq=False)
class Ticket:
    """One admitted request: its client and the lane it holds a slot in (None: holds none)."""

    client: str
    lane: Lane | None
    started: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class _Client:
    inflight: int = 0
    flagged_until: float = 0.0


class _FairQueue:
    """Waiters per client, served round-robin between clients."""

    def __init__(self) -> None:
        self.waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self.turns: deque[str] = deque()
        self.size = 0

    def push(self, client: str, waiter: asyncio.Future[None]) -> None:
        line = self.waiting.get(client)
        if line is None:
            line = self.waiting[client] = deque()
            self.turns.append(client)
        line.append(waiter)
        self.size += 1

    def pop(self) -> asyncio.Future[None] | None:
        """The next waiter that has not given up, taking clients in turn."""
        while self.turns:
            client = self.turns.popleft()
            line = self.waiting[client]
            waiter = line.popleft()
            self.size -= 1
            if line:
                self.turns.append(client)
            else:
                del self.waiting[client]
            if not waiter.done():
                return waiter
        return None

    def remove(self, client: str, waiter: asyncio.Future[None]) -> None:
        line = self.waiting.get(client)
        if line is None or waiter not in line:
            return
        line.remove(waiter)
        self.size -= 1
        if not line:
            del self.waiting[client]
            self.turns.remove(client)


class _LaneState:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.running = 0
        self.queue = _FairQueue()


class Admission:
    """The admission state of one worker (see the module docstring for the rules)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.lanes: dict[Lane, _LaneState] = {
            "quick": _LaneState(limits.quick),
            "heavy": _LaneState(limits.heavy),
        }
        self.clients: OrderedDict[str, _Client] = OrderedDict()

    async def enter(self, client: str) -> Ticket:
        """Wait for a slot in the client's lane.

        Raises:
            TooManyRequests: the client already has ``client_limit`` requests in flight.
            ServerBusy: the lane's queue is full, or no slot freed within the query timeout.
        """
        state = self.clients.get(client)
        if state is None:
            state = self.clients[client] = _Client()
            if len(self.clients) > _MAX_CLIENTS:
                self._forget_idle_clients()
        limit = self.limits.client
        if state.inflight >= limit:
            raise TooManyRequests(
                f"too many requests in flight from your address ({limit} at a time per "
                "server process); retry when one has been answered"
            )
        now = time.monotonic()
        lane: Lane = "heavy" if state.flagged_until > now else "quick"
        slots = self.lanes[lane]
        if slots.running < slots.capacity and not slots.queue.size:
            slots.running += 1
            state.inflight += 1
            return Ticket(client, lane, now)
        if slots.queue.size >= self.limits.queue:
            raise ServerBusy(f"server busy: the {lane} queue is full", self._retry_after(lane))
        state.inflight += 1
        try:
            await self._wait(slots, client)
        except BaseException:
            self._forget(client, state)
            raise
        return Ticket(client, lane)

    async def _wait(self, slots: _LaneState, client: str) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        slots.queue.push(client, waiter)
        timer = loop.call_later(self.limits.wait_s, _expire, waiter)
        try:
            await waiter  # the slot is handed over already counted (see _free)
        except TimeoutError:
            wait = self.limits.wait_s
            retry = self._retry_after("quick")
            raise ServerBusy(f"server busy: no slot within {wait:g} s", retry) from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._free(slots)  # handed a slot just as the client went away
            raise
        finally:
            timer.cancel()
            slots.queue.remove(client, waiter)

    def promote(self, ticket: Ticket) -> bool:
        """The request turned heavy: flag its client, move it to the heavy lane if there is room.

        False when the heavy lane is full: the request then holds no slot and must be stopped.
        """
        state = self.clients.get(ticket.client)
        if state is not None:
            state.flagged_until = time.monotonic() + FLAG_S
        if ticket.lane != "quick":
            return ticket.lane == "heavy"
        self._free(self.lanes["quick"])
        heavy = self.lanes["heavy"]
        if heavy.running < heavy.capacity and not heavy.queue.size:
            heavy.running += 1
            ticket.lane = "heavy"
            return True
        ticket.lane = None
        return False

    def leave(self, ticket: Ticket) -> None:
        """The request is over: free its slot; a quick finish clears the client's flag."""
        if ticket.lane is not None:
            self._free(self.lanes[ticket.lane])
            ticket.lane = None
        state = self.clients.get(ticket.client)
        if state is None:
            return
        if time.monotonic() - ticket.started < self.limits.heavy_after_s:
            state.flagged_until = 0.0
        self._forget(ticket.client, state)

    def depth(self) -> dict[str, tuple[int, int]]:
        """(running, waiting) per lane, for the metrics."""
        return {name: (lane.running, lane.queue.size) for name, lane in self.lanes.items()}

    def retry_after_heavy(self) -> int:
        return self._retry_after("heavy")

    def _free(self, slots: _LaneState) -> None:
        """Hand the slot to the next waiter in turn, or give it back."""
        waiter = slots.queue.pop()
        if waiter is None:
            slots.running -= 1
        else:
            waiter.set_result(None)

    def _forget(self, client: str, state: _Client) -> None:
        state.inflight -= 1
        if state.inflight <= 0 and state.flagged_until <= time.monotonic():
            self.clients.pop(client, None)

    def _forget_idle_clients(self) -> None:
        """Too many remembered: drop flags of clients with nothing in flight, oldest first."""
        for name in [n for n, c in self.clients.items() if c.inflight <= 0]:
            del self.clients[name]
            if len(self.clients) <= _MAX_CLIENTS // 2:
                return

    def _retry_after(self, lane: Lane) -> int:
        """Quick slots free up in milliseconds; heavy ones at the latest at a deadline."""
        return 1 if lane == "quick" else max(1, math.ceil(self.limits.wait_s))


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
