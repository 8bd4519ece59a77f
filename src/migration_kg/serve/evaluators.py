"""The evaluator processes' side: a zygote that forks evaluators, and the evaluators' loop.

pyoxigraph 0.5 cannot cancel a query, so a public endpoint's queries run in processes that can
be killed (pool.py is the worker's side). The worker forks one *zygote* while it is still quiet
(before serving): a single-threaded copy of the loaded store that never queries it. Each
evaluator is forked from the zygote, so it starts from a clean, shared copy-on-write image — no
locks held by the worker's other threads, no pages the worker has since unshared — and a fork
costs the worker nothing but a message. The zygote ignores SIGCHLD, so the kernel reaps killed
evaluators at once; evaluators get SIGKILL if the zygote dies, and the zygote exits when the
worker closes (or loses) its end of their socket: no process outlives its worker.

Messages are length-prefixed over a Unix socket pair per evaluator, in ``marshal`` when they are
plain data (the common case: a few microseconds, where pickling dataclasses and enums cost tens)
and in pickle otherwise (pyoxigraph terms for dataset parameters, exceptions). The evaluator says
``("ready", pid, cpu)``, then answers each ``(job, choices, background)`` with
``("ok", Answer, cpu)`` or ``("error", exception, cpu)``, ``cpu`` being the CPU seconds it has
used so far (so the worker can tell how much CPU a running job has taken). A background job
lowers the evaluator to idle CPU priority first.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import marshal
import os
import pickle
import resource
import signal
import socket
import struct
from typing import Any, NoReturn

import pyoxigraph as ox

from migration_kg.core.errors import MigrationKGError
from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.serve.evaluation import Answer, Choices, Family, Format, Job, answer

HEADER = struct.Struct("!Q")
_PR_SET_PDEATHSIG = 1
_SPAWN = b"s"
_MARSHAL, _PICKLE = b"m", b"p"
_BACKGROUND_NICE = 10


def encode(message: Any) -> bytes:
    """One message as a frame: length, a tag (marshal or pickle), the payload."""
    try:
        payload = _MARSHAL + marshal.dumps(message)
    except ValueError:  # not plain data
        payload = _PICKLE + pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def decode(payload: bytes | memoryview) -> Any:
    """A frame's payload (without its length) back into the message."""
    body = payload[1:]
    return marshal.loads(body) if payload[:1] == _MARSHAL else pickle.loads(body)


def send_frame(sock: socket.socket, message: Any) -> None:
    """Write one message (blocking socket)."""
    sock.sendall(encode(message))


def recv_frame(sock: socket.socket) -> Any:
    """Read one message (blocking socket); None at end of file."""
    head = _recv_exactly(sock, HEADER.size)
    if head is None:
        return None
    body = _recv_exactly(sock, HEADER.unpack(head)[0])
    return None if body is None else decode(body)


class FormatRefused(MigrationKGError):
    """The evaluator needed a result family the client refused; the worker, which kept the
    chooser's own refusal (a 406 naming what is offered), raises that instead."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.family = family


_REFUSED = "refused"


def job_message(job: Job, choices: Choices, background: bool) -> bytes:
    """A job as plain data: formats by name, a refusal to choose as ``refused``.

    Most requests refuse one family (a SELECT client's Accept names no RDF syntax), so the
    refusal stays in the worker rather than being pickled for every request.
    """
    wire = tuple(_choice(choices[family]) for family in ("results", "graph"))
    return encode((job.text, job.kwargs, job.timeout, job.kind, job.row_cap, background, *wire))


def _choice(choice: Format | MigrationKGError) -> str:
    if isinstance(choice, MigrationKGError):
        return _REFUSED
    return f"{type(choice).__name__}:{choice.name}"  # a chooser may pick across families


def _read_job(message: tuple[Any, ...]) -> tuple[Job, Choices, bool]:
    text, kwargs, timeout, kind, row_cap, background, results, graph = message
    choices: dict[Family, Format | MigrationKGError] = {
        "results": _unchoice(results, "results"),
        "graph": _unchoice(graph, "graph"),
    }
    return Job(text, kwargs, timeout, kind, row_cap), choices, background


def _unchoice(wire: str, family: str) -> Any:
    if wire == _REFUSED:
        return FormatRefused(family)
    family, name = wire.split(":")
    return ResultFormat[name] if family == ResultFormat.__name__ else RdfFormat[name]


def answer_reply(value: Answer, cpu: float) -> tuple[Any, ...]:
    family = "results" if isinstance(value.fmt, ResultFormat) else "graph"
    return ("ok", (value.kind, value.body, family, value.fmt.name, value.truncated), cpu)


def read_reply(reply: tuple[Any, ...]) -> tuple[str, Answer | Exception, float]:
    """``("ok", Answer, cpu)`` or ``("error", exception, cpu)`` from the evaluator's message."""
    status, value, cpu = reply
    if status == "ok":
        kind, body, family, name, truncated = value
        fmt = ResultFormat[name] if family == "results" else RdfFormat[name]
        return status, Answer(kind, body, fmt, truncated), cpu
    return status, pickle.loads(value), cpu


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        count = sock.recv_into(view[got:])
        if count == 0:
            return None
        got += count
    return bytes(buffer)


def request_evaluator(zygote: socket.socket, evaluator_end: socket.socket) -> None:
    """Ask the zygote to fork an evaluator serving ``evaluator_end`` (the worker keeps the other
    end); the evaluator announces itself on that socket."""
    socket.send_fds(zygote, [_SPAWN], [evaluator_end.fileno()])


def start_zygote(
    store: ox.Store, prefixes: dict[str, str], stack_bytes: int
) -> tuple[int, socket.socket]:
    """Fork the zygote from this (the worker) process; returns its pid and the worker's socket.

    Evaluators evaluate on their main thread, whose stack grows up to RLIMIT_STACK: it is raised
    (soft limit, within the hard one) to ``stack_bytes``, what the deepest admitted query needs.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid:
        theirs.close()
        return pid, ours
    try:  # the child: never return into the worker's code
        _detach(keep=theirs.fileno())
        _allow_stack(stack_bytes)
        _serve_zygote(theirs, store, prefixes)
    finally:
        os._exit(0)


def _allow_stack(stack_bytes: int) -> None:
    """Let the main thread's stack grow to ``stack_bytes`` (the kernel checks at each fault)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft != resource.RLIM_INFINITY and soft < stack_bytes:
        wanted = stack_bytes if hard == resource.RLIM_INFINITY else min(stack_bytes, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_STACK, (wanted, hard))


def _detach(keep: int) -> None:
    """Leave the worker's world: the worker's signals, no inherited descriptors, a frozen heap.

    SIGTERM, SIGINT and SIGHUP are ignored: a stop sent to the whole process group or cgroup
    (``kill -TERM -PGID``, systemd's default) reaches evaluators too, and one killed there would
    fail the very request the worker is draining. The worker ends its evaluators itself (closes
    their socket, or SIGKILL at a deadline) and they die with the zygote, which dies with it.

    Inherited client connections and listening sockets must not stay open here (a connection the
    worker closes would stay open), and objects that wrapped them must never be collected (their
    finalizers would close whatever descriptor reused the number), hence ``gc.freeze``.
    """
    gc.freeze()
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    for signum in (signal.SIGQUIT, signal.SIGUSR1):
        signal.signal(signum, signal.SIG_DFL)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 20)


def _serve_zygote(sock: socket.socket, store: ox.Store, prefixes: dict[str, str]) -> NoReturn:
    """Fork an evaluator per request; exit when the worker's end closes."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed evaluators are reaped by the kernel
    zygote = os.getpid()
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 64, 16)
        except InterruptedError:
            continue
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)
        for fd in fds:
            if os.fork() == 0:
                try:
                    sock.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    _die_with(zygote)
                    _serve_evaluator(socket.socket(fileno=fd), store, prefixes)
                finally:
                    os._exit(1)
            os.close(fd)


def _die_with(parent: int) -> None:
    """SIGKILL when the zygote dies (Linux), so that a busy evaluator cannot outlive it."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def _serve_evaluator(conn: socket.socket, store: ox.Store, prefixes: dict[str, str]) -> NoReturn:
    """Answer jobs one at a time until the worker closes the socket (or kills this process)."""
    conn.setblocking(True)
    send_frame(conn, ("ready", os.getpid(), _cpu()))
    lowered = False
    while True:
        message = recv_frame(conn)
        if message is None:
            os._exit(0)
        job, choices, background = _read_job(message)
        if background and not lowered:
            # Below the quick evaluators, but not idle: a flagged client's cheap queries must
            # still run on a busy machine; the worker lowers it to idle once it turns heavy.
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, 0, _BACKGROUND_NICE)
            lowered = True
        try:
            result = answer(store, job, choices, _never, prefixes)
        except Exception as exc:  # handed to the worker, which raises it for the request
            failed = pickle.dumps(_portable(exc), pickle.HIGHEST_PROTOCOL)
            send_frame(conn, ("error", failed, _cpu()))
        else:
            send_frame(conn, answer_reply(result, _cpu()))


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _never() -> bool:
    return False


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling, else a RuntimeError saying what it was (a bug: 500)."""
    try:
        pickle.loads(pickle.dumps(exc, pickle.HIGHEST_PROTOCOL))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def restore_priority(pid: int) -> None:
    """Normal priority again before a kill, where the kernel allows it (root, CAP_SYS_NICE).

    A killed process still has to run its exit (unmapping its memory); at idle priority on a
    saturated machine that can take seconds, holding the memory meanwhile. Unprivileged, the
    call fails and the exit simply waits for idle CPU: it never slows anything else down.
    """
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, 0)


def lower_priority(pid: int) -> None:
    """Idle CPU priority for ``pid``: it runs only when nothing at normal priority wants a core.

    Unprivileged processes may lower a priority but never raise it again, which is why a
    lowered evaluator is used for one heavy query and then retired.
    """
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, 19)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
