"""Pure ASGI middleware: request records (id, outcome, metrics, access log), CORS, admission.

Written as plain ASGI rather than BaseHTTPMiddleware so that the hot path pays one function call
per layer and streaming is untouched. CORS is unconditional (``*``): the endpoint is public and
read-only, so there is no credentialed state that an origin check would protect.

``AdmissionMiddleware`` applies admission.py's rules to a request and enforces them: it moves a
request to the heavy lane after ``heavy_after_s`` (or stops it when that lane is full), and from
then on watches for the client going away, cancelling the request — and with it the evaluation
in its evaluator process — when it does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import time
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from migration_kg.core.errors import QueryTimeout, ServerBusy
from migration_kg.serve.calls import Probe, current_probe, is_heavy
from migration_kg.web.admission import (
    Admission,
    Ticket,
    TooManyRequests,
    current_lane,
    request_deadline,
)
from migration_kg.web.clients import ClientResolver
from migration_kg.web.errors import CORS_HEADERS, error_response
from migration_kg.web.metrics import Metrics
from migration_kg.web.outcome import RequestRecord, current_record, note
from migration_kg.web.security import add_missing

access_log = logging.getLogger("migration_kg.web.access")

_CORS = [(k.lower().encode(), v.encode()) for k, v in CORS_HEADERS.items()]
_PREFLIGHT = [
    *_CORS,
    (b"access-control-allow-methods", b"GET, HEAD, POST, OPTIONS"),
    (b"access-control-max-age", b"86400"),
    (b"allow", b"GET, HEAD, POST, OPTIONS"),
    (b"content-length", b"0"),
]
_DEFAULT_ALLOWED_HEADERS = b"Accept, Content-Type, If-None-Match"
_GRACE_S = 0.1
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
# Never queued or counted against a client: probes, metrics and static files cost no query.
EXEMPT_PATHS = frozenset({"/health", "/metrics", "/favicon.ico", "/robots.txt"})
EXEMPT_PREFIXES = ("/static/",)


class CorsMiddleware:
    """Adds CORS headers to every HTTP response and answers OPTIONS itself (204)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            requested = dict(scope["headers"]).get(b"access-control-request-headers")
            allowed = requested if requested else _DEFAULT_ALLOWED_HEADERS
            headers = [*_PREFLIGHT, (b"access-control-allow-headers", allowed)]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_missing(message, _CORS)
            await send(message)

        await self.app(scope, receive, send_with_cors)


class ObservabilityMiddleware:
    """Outermost: a request id (``X-Request-Id``, kept from the client if well-formed), the
    metrics, and one JSON access-log line per request on ``migration_kg.web.access`` (handlers:
    the CLI's) with the id and the outcome."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self._ids = itertools.count(1)
        self._pid = 0

    def _new_id(self, scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"x-request-id" and _REQUEST_ID.fullmatch(value):
                return bytes(value).decode()
        if self._pid != os.getpid():  # a forked worker numbers its own requests
            self._pid, self._ids = os.getpid(), itertools.count(1)
        return f"{self._pid:x}-{next(self._ids):x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        record = RequestRecord(self._new_id(scope))
        token = current_record.set(record)
        status, size = 500, 0
        request_id = record.id.encode()

        async def observed_send(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except asyncio.CancelledError:
            if record.outcome == "ok":
                record.outcome, record.reason = "client-gone", "shutdown"
            raise
        finally:
            current_record.reset(token)
            self._finish(scope, record, status, size, time.perf_counter() - start)

    def _finish(
        self, scope: Scope, record: RequestRecord, status: int, size: int, seconds: float
    ) -> None:
        metrics = self.metrics
        if metrics is not None:
            metrics.observe(_route(scope), status, seconds)
            if record.outcome == "rejected":
                metrics.rejected.labels(record.reason or "other").inc()
            elif record.outcome != "ok":
                metrics.cancelled.labels(record.reason or record.outcome).inc()
        if access_log.isEnabledFor(logging.INFO):
            client = scope.get("client")
            entry = {
                "id": record.id,
                "method": scope["method"],
                "path": scope["path"],
                "query_bytes": len(scope.get("query_string", b"")),
                "status": status,
                "outcome": record.outcome,
                "reason": record.reason,
                "bytes": size,
                "ms": round(seconds * 1000, 2),
                "client": record.client or (client[0] if client else None),
            }
            access_log.info(json.dumps(entry))


def _route(scope: Scope) -> str:
    """The route template (not the raw path, which would explode the metric's label set)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "/sparql" if scope["path"] == "/sparql" else "unmatched"


def log_refusal(metrics: Metrics | None) -> Callable[[str, int, str | None], None]:
    """The connection guard's reporter: a refusal before the app saw the request is counted
    and logged like any other request."""

    def report(reason: str, status: int, client: str | None) -> None:
        if metrics is not None and status:
            metrics.rejected.labels(reason).inc()
        if access_log.isEnabledFor(logging.INFO):
            entry = {"id": None, "status": status or None, "outcome": "rejected"}
            access_log.info(json.dumps({**entry, "reason": reason, "client": client}))

    return report


class AdmissionMiddleware:
    """Per-client limits and lanes around everything that may evaluate a query."""

    def __init__(self, app: ASGIApp, admission: Admission, resolver: ClientResolver) -> None:
        self.app = app
        self.admission = admission
        self.resolver = resolver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.admission.limits.wait_s
        client = self.resolver.resolve(scope)
        record = current_record.get()
        if record is not None:
            record.client = client
        try:
            ticket = await self.admission.enter(client)
        except (TooManyRequests, ServerBusy) as exc:
            await error_response(exc)(scope, receive, send)
            return
        guard = _Guard(self.admission, ticket, receive, send, deadline)
        token = current_lane.set(ticket.lane or "quick")
        probing = current_probe.set(guard.probe)
        timing = request_deadline.set(deadline)
        try:
            await self.app(scope, guard.receive, guard.send)
        except asyncio.CancelledError:
            if not guard.stopped():
                raise
            await guard.answer_stopped(scope)
        finally:
            request_deadline.reset(timing)
            current_probe.reset(probing)
            current_lane.reset(token)
            guard.close()
            self.admission.leave(ticket)


class _Guard:
    """One admitted request: the heavy-lane timer and, once heavy, the client-gone watch."""

    def __init__(
        self, admission: Admission, ticket: Ticket, receive: Receive, send: Send, deadline: float
    ) -> None:
        self.admission, self.ticket = admission, ticket
        self.task = asyncio.current_task()
        self.receiver = _Receiver(receive)
        self._send = send
        self.started = False
        self.refused = self.expired = False
        self.probe = Probe()
        self.timer: asyncio.TimerHandle | None = None
        loop = asyncio.get_running_loop()
        # A backstop: the engine's own deadline (the time left, see sparql.py) comes first.
        self.expiry = loop.call_at(deadline + _GRACE_S, self._expired)
        if ticket.lane == "quick":
            self.timer = loop.call_later(admission.limits.heavy_after_s, self._turned_heavy)
        else:
            self.receiver.watch(self._gone)

    async def receive(self) -> Message:
        return await self.receiver()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.receiver.stop()
        await self._send(message)

    def stopped(self) -> bool:
        """Whether this guard cancelled the request (then it owns the answer)."""
        if self.refused or self.expired or self.receiver.gone:
            if self.task is not None:
                self.task.uncancel()
            return True
        return False

    async def answer_stopped(self, scope: Scope) -> None:
        if self.receiver.gone:
            note("client-gone", "client_gone")
            return
        if self.started:
            return
        if self.expired:
            wait = self.admission.limits.wait_s
            response = error_response(QueryTimeout(f"request exceeded the {wait:g} s timeout"))
        else:
            retry = self.admission.retry_after_heavy()
            exc = ServerBusy("server busy with long-running queries; retry later", retry)
            response = error_response(exc)
            note("cancelled", "heavy_lane_full")
        await response(scope, self.receiver, self._send)

    def close(self) -> None:
        self.expiry.cancel()
        if self.timer is not None:
            self.timer.cancel()
        self.receiver.stop()

    def _expired(self) -> None:
        if not self.started:
            self.expired = True
            self._cancel()

    def _turned_heavy(self) -> None:
        """Past ``heavy_after_s``: heavy if its evaluation used that much CPU (wall time when
        the cost is unknown: pages, in-thread or remote evaluation)."""
        self.timer = None
        if self.started:
            return
        budget, used = self.admission.limits.heavy_after_s, self.probe.cpu()
        loop = asyncio.get_running_loop()
        if not is_heavy(used, self.probe.running_for(loop.time()), budget):
            later = max(budget - (used or 0.0), budget / 4)  # waiting for a core or an evaluator
            self.timer = loop.call_later(later, self._turned_heavy)
            return
        if self.admission.promote(self.ticket):
            self.receiver.watch(self._gone)
        else:
            self.refused = True
            self._cancel()

    def _gone(self) -> None:
        if not self.started:
            self._cancel()

    def _cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


class _Receiver:
    """The request's ``receive``, readable by a watcher and the app without losing a message.

    While watching, the watcher is the only reader: body messages it reads are kept for the
    app; a disconnect marks the client gone and calls ``on_gone``.
    """

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._kept: deque[Message] = deque()
        self._watcher: asyncio.Task[None] | None = None
        self._waiting: asyncio.Future[Message] | None = None
        self._relay: asyncio.Task[None] | None = None
        self.gone = False

    async def __call__(self) -> Message:
        if self._kept:
            return self._kept.popleft()
        if self.gone:
            return {"type": "http.disconnect"}
        if self._watcher is None or self._watcher.done():
            return await self._receive()
        self._waiting = asyncio.get_running_loop().create_future()
        return await self._waiting

    def watch(self, on_gone: Callable[[], None]) -> None:
        if self._watcher is None:
            self._watcher = asyncio.ensure_future(self._watch(on_gone))

    def stop(self) -> None:
        """Stop watching; an app still waiting for a message then reads it directly."""
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
        waiting, self._waiting = self._waiting, None
        if waiting is not None and not waiting.done():
            self._relay = asyncio.ensure_future(self._relay_to(waiting))

    async def _relay_to(self, waiting: asyncio.Future[Message]) -> None:
        message = await self._receive()
        if not waiting.done():
            waiting.set_result(message)

    async def _watch(self, on_gone: Callable[[], None]) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.gone = True
            waiting, self._waiting = self._waiting, None
            if waiting is not None and not waiting.done():
                waiting.set_result(message)
            elif not self.gone:
                self._kept.append(message)
            if self.gone:
                on_gone()
                return
