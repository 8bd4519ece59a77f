"""In-thread evaluation: persistent worker threads with a deadline that cannot free the CPU.

The engine's path for internal queries (pages, the search index, the service description),
whose text the server chooses, and for every query with ``evaluation = "thread"``. pyoxigraph
cannot be interrupted, so a query abandoned at its deadline keeps its thread (and a core) until
it ends: fine for the server's own bounded queries, not for a public endpoint's, which run in
evaluator processes instead (pool.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from migration_kg.core.errors import QueryTimeout, ServerBusy
from migration_kg.serve.evaluation import Job, Stopped

T = TypeVar("T")
Work = Callable[[Job, Stopped], T]
# Evaluation threads in all: a runaway aggregate cannot be interrupted inside pyoxigraph, so this
# bounds how many threads such queries can pin; past it, queries wait and time out as "busy".
MAX_THREADS = max(8, 4 * (os.cpu_count() or 2))


@dataclass(eq=False)
class _Task:
    """One unit of work in the pool; ``state`` moves queued → running → done, or is given up."""

    run: Callable[[], None]  # never raises: it hands its outcome to the caller
    state: Literal["queued", "running", "abandoned", "cancelled", "done"] = "queued"
    stop: threading.Event = field(default_factory=threading.Event)


class Workers:
    """Persistent daemon threads that evaluate queries, ``parallel`` at a time.

    A thread per query (what this replaced) cost a thread start per request, during which the
    event loop waited for the new thread to get the GIL: a third of the loop's time on lookups.
    Queries wait in a queue rather than all running at once: on two cores, 16 evaluations at
    once took a quarter more CPU per query than one or two (caches, allocator, GIL hand-offs).

    A query abandoned at its timeout cannot be interrupted inside pyoxigraph: its thread is
    written off (``give_up``) and a new one started so that ``parallel`` stay available, up to
    ``limit`` threads in all; past that the queue waits and callers time out as "busy". The
    written-off thread retires when its query ends. Daemon threads, so that none keeps the
    process alive at exit. Threads do not survive ``fork``: a child starts with a fresh pool.
    """

    def __init__(self, parallel: int, stack_bytes: int, limit: int = MAX_THREADS) -> None:
        self.parallel, self.limit = parallel, limit
        self.stack_bytes = stack_bytes  # pyoxigraph recurses on this stack (serve/intake.py)
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._queue: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._stuck = 0  # threads still running a query their caller gave up on

    def run(self, job: Job, work: Work[T]) -> T:
        """Evaluate ``job`` on a worker and block for its outcome until the job's deadline."""
        outcome: list[T | BaseException] = []
        done = threading.Event()

        def deliver(result: T | BaseException) -> None:
            outcome.append(result)
            done.set()

        task = self._submit(job, work, deliver)
        if not done.wait(job.timeout):
            raise self._give_up(job, task)
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    async def run_async(self, job: Job, work: Work[T]) -> T:
        """Evaluate ``job`` on a worker and await its outcome (never blocking the loop) until the
        deadline; a timed-out or cancelled job is told to stop producing rows."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def deliver(result: T | BaseException) -> None:
            if future.done():  # timed out and cancelled meanwhile
                return
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        def hand_over(result: T | BaseException) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
                loop.call_soon_threadsafe(deliver, result)

        task = self._submit(job, work, hand_over)
        try:
            return await asyncio.wait_for(future, job.timeout)
        except TimeoutError:
            raise self._give_up(job, task) from None
        except asyncio.CancelledError:  # the client went away: stop collecting rows
            self._give_up(job, task)
            raise

    def _give_up(self, job: Job, task: _Task) -> QueryTimeout:
        """Stop waiting for ``job``: the error says whether it ever got to run."""
        task.stop.set()
        with self._lock:
            if task.state == "queued":
                task.state = "cancelled"
                return ServerBusy(f"server busy: no evaluation slot within {job.timeout:g} s")
            if task.state == "running":
                task.state = "abandoned"
                self._stuck += 1
                self._grow()
        return QueryTimeout(f"query exceeded the {job.timeout:g} s timeout")

    def _submit(
        self, job: Job, work: Work[T], deliver: Callable[[T | BaseException], None]
    ) -> _Task:
        """Queue ``job``; a worker hands the outcome to ``deliver`` when one of the ``parallel``
        is free."""
        if self._pid != os.getpid():  # forked: the parent's threads and locks are not ours
            self._reset()

        def run() -> None:
            try:
                result: T | BaseException = work(job, task.stop.is_set)
            except BaseException as exc:  # handed to the waiting caller, re-raised there
                _drop_locals(exc)
                result = exc
            deliver(result)

        task = _Task(run)
        with self._lock:
            self._grow()
        self._queue.put(task)
        return task

    def _grow(self) -> None:
        """Start threads until ``parallel`` are not stuck (within ``limit``); lock held."""
        while self._threads - self._stuck < self.parallel and self._threads < self.limit:
            default = threading.stack_size(self.stack_bytes)
            try:
                threading.Thread(target=self._serve, name="emk-query", daemon=True).start()
            finally:
                threading.stack_size(default)
            self._threads += 1

    def _serve(self) -> None:
        tasks = self._queue
        while True:
            task = tasks.get()
            if self._begin(task):
                task.run()
                if self._end(task):
                    return
            del task  # an idle thread must not keep the last query (and the engine) alive

    def _begin(self, task: _Task) -> bool:
        """Mark ``task`` running; False if its caller gave up while it waited."""
        with self._lock:
            if task.state != "queued":
                return False
            task.state = "running"
            return True

    def _end(self, task: _Task) -> bool:
        """Mark ``task`` done; True if this thread should retire (a replacement took over)."""
        with self._lock:
            if task.state == "abandoned":
                self._stuck -= 1
            task.state = "done"
            if self._threads - self._stuck > self.parallel:
                self._threads -= 1
                return True
            return False


def _drop_locals(exc: BaseException) -> None:
    """Free the locals of the frames an exception passed through, here in the worker thread.

    pyoxigraph's result iterators must be dropped on the thread that made them; a traceback
    carried to the event loop would otherwise keep one alive until it is freed there (an error
    from pyo3, and a leak). Line numbers stay, so logged tracebacks remain useful.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        pending += [current.__cause__, current.__context__]
