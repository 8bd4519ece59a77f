"""Pure ASGI middleware: CORS on every response (and OPTIONS preflight), a JSON access log.

Written as plain ASGI rather than BaseHTTPMiddleware so that the hot path pays one function call
per layer and streaming is untouched. CORS is unconditional (``*``): the endpoint is public and
read-only, so there is no credentialed state that an origin check would protect.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from migration_kg.web.errors import CORS_HEADERS

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
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _CORS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cors)


class AccessLogMiddleware:
    """One JSON line per request on the ``migration_kg.web.access`` logger (handlers: the CLI's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, size = 500, 0

        async def recording_send(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            client = scope.get("client")
            entry = {
                "method": scope["method"],
                "path": scope["path"],
                "query_bytes": len(scope.get("query_string", b"")),
                "status": status,
                "bytes": size,
                "ms": round((time.perf_counter() - start) * 1000, 2),
                "client": client[0] if client else None,
            }
            access_log.info(json.dumps(entry))
