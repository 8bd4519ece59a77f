"""Request hygiene at the connection: header and body size, slow clients, connection count.

uvicorn's httptools protocol, with limits it lacks: it buffers a request head of any size,
waits forever for a client that trickles bytes (slowloris: any data re-arms nothing), keeps a
connection that never sends a request, and reads bodies the app will refuse. Here, per
connection:

* the request line and headers may take ``max_header_bytes`` (431) and must arrive within
  ``header_timeout_s`` of the connection (or of the request's first byte): else 408 and close,
  or a silent close for a connection that never sent a byte;
* a body larger than ``max_request_bytes`` is refused from its Content-Length, or as soon as a
  chunked body passes it (413), and must arrive within ``body_timeout_s`` of the headers (408);
* past ``max_connections`` open connections, the longest-idle keep-alive connections are
  closed to make room, and if none is idle the newcomer gets 503; idle keep-alive connections
  are closed after ``keepalive_timeout_s`` (uvicorn's own timer).

Every refusal is reported (metrics and access log) through ``ConnectionLimits.report``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from migration_kg.core.settings import Settings
from migration_kg.web.security import ALWAYS, DATA_HEADERS

# (reason, status, client address) of a request refused before it reached the app.
Reporter = Callable[[str, int, str | None], None]
_REASONS = {
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class ConnectionLimits:
    """The per-connection limits of one server (see the module docstring)."""

    max_header_bytes: int
    max_body_bytes: int
    header_timeout_s: float
    body_timeout_s: float
    max_connections: int
    report: Reporter | None = None

    @classmethod
    def from_settings(cls, settings: Settings, report: Reporter | None = None) -> ConnectionLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_body_bytes=settings.max_request_bytes,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            max_connections=settings.max_connections,
            report=report,
        )


def protocol_class(limits: ConnectionLimits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class uvicorn should instantiate (``http=`` in its Config), with ``limits``."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"limits": limits})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of ``ConnectionLimits``."""

    limits: ConnectionLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between a request's first byte (or the connection) and its headers
        self._head_bytes = 0  # bytes received since the head began (may include body bytes)
        self._head_size = 0  # the parsed request line and headers
        self._body_bytes = 0
        self._refused = False
        self._busy = False
        self._last_active = time.monotonic()
        self._timer: Any = None

    # -- connection --------------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            self._refuse(503, "too_many_connections", "too many open connections; retry later")
            return
        self._arm(self.limits.header_timeout_s, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._last_active = time.monotonic()
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.limits.max_header_bytes and not self._refused:
            self._refuse_head()

    # -- parser callbacks --------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._busy = True
        if not self._in_head:  # a later request on this connection: its head is timed anew
            self._in_head, self._head_bytes = True, 0
            self._arm(self.limits.header_timeout_s, self._head_too_slow)

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            self._head_size += len(url)
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._refused:
            self._head_size += len(name) + len(value) + 4
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._in_head = False
        self._disarm()
        head, self._head_size = self._head_size, 0
        if head > self.limits.max_header_bytes:
            self._refuse_head()
            return
        declared = self._declared_length()
        if declared is not None and declared > self.limits.max_body_bytes:
            self._refuse_body()
            return
        self._body_bytes = 0
        if declared or self._chunked():
            self._arm(self.limits.body_timeout_s, self._body_too_slow)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body_bytes:
            self._refuse_body()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._busy = False
        self._last_active = time.monotonic()
        super().on_response_complete()

    # -- limits --------------------------------------------------------------------------------

    def _declared_length(self) -> int | None:
        for name, value in self.headers or ():
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    def _chunked(self) -> bool:
        return any(
            n == b"transfer-encoding" and b"chunked" in v.lower() for n, v in self.headers or ()
        )

    def _head_too_slow(self) -> None:
        if self._head_bytes == 0 and not self._busy:
            self._timer = None
            self.transport.close()  # never sent a byte: nobody to answer
            self._report("idle_connection", 0)
            return
        limit = self.limits.header_timeout_s
        self._refuse(408, "slow_headers", f"request headers not received within {limit:g} s")

    def _body_too_slow(self) -> None:
        limit = self.limits.body_timeout_s
        self._refuse(408, "slow_body", f"request body not received within {limit:g} s")

    def _refuse_head(self) -> None:
        limit = self.limits.max_header_bytes
        self._refuse(431, "header_too_large", f"request line and headers are over {limit} bytes")

    def _refuse_body(self) -> None:
        limit = self.limits.max_body_bytes
        self._refuse(413, "body_too_large", f"request body is over the {limit}-byte limit")

    def _make_room(self) -> bool:
        """Close the longest-idle keep-alive connections until under the limit; False if none."""
        idle = sorted(
            (c for c in self.connections if isinstance(c, GuardedHttpToolsProtocol) and c._idle()),
            key=lambda c: c._last_active,
        )
        while len(self.connections) > self.limits.max_connections and idle:
            victim = idle.pop(0)
            victim.transport.close()
            self.connections.discard(victim)
            victim._report("idle_evicted", 0)
        return len(self.connections) <= self.limits.max_connections

    def _idle(self) -> bool:
        return not self._busy and self._head_bytes == 0 and not self._refused

    def _refuse(self, status: int, reason: str, message: str) -> None:
        """Answer ``status`` with ``message`` and close, unless the app already answered."""
        self._refused = True
        self._disarm()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's pending receive() sees the client go
            cycle.message_event.set()
        if not (cycle is not None and cycle.response_started and not cycle.response_complete):
            body = (message + "\n").encode()
            head = [
                f"HTTP/1.1 {status} {_REASONS[status]}",
                "content-type: text/plain; charset=utf-8",
                f"content-length: {len(body)}",
                "access-control-allow-origin: *",
                "connection: close",
                *(f"{name}: {value}" for name, value in {**ALWAYS, **DATA_HEADERS}.items()),
            ]
            if status == 503:
                head.append("retry-after: 1")
            self.transport.write("\r\n".join(head).encode() + b"\r\n\r\n" + body)
        self.transport.close()
        self._report(reason, status)

    def _report(self, reason: str, status: int) -> None:
        if self.limits.report is not None:
            self.limits.report(reason, status, self.client[0] if self.client else None)

    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
