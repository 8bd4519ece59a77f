"""A lean HTTP/1.1 client for one thing: POSTing queries to a store from the event loop.

``serve --store`` spends most of its own CPU per lookup in the HTTP client: httpx builds
request and response models, headers objects and a transport stack, about 2.5 ms of CPU per
request on the benchmark machine, more than the store's lookup itself. This client keeps a pool
of keep-alive connections per event loop and speaks just enough HTTP/1.1 for a query: a form
POST, a status line, headers, a body by Content-Length, chunks, or up to the close. Anything
else (credentials, redirects, TLS) goes through httpx (``RemoteEngine`` decides).

A connection whose request was cancelled (the deadline passed, or the client went away) is
closed, never returned to the pool, so the store sees the request abandoned.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

Form = dict[str, str | list[str]]
_MAX_HEADER_BYTES = 65536


class LeanHTTPError(OSError):
    """The store closed the connection or answered something that is not HTTP/1.1."""


@dataclass
class LeanResponse:
    status: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


@dataclass
class LeanClient:
    """Keep-alive connections to one ``http://host:port/path``, for one event loop."""

    url: str
    limit: int = 16
    _idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(default_factory=list)
    _slots: asyncio.Semaphore | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{self.url}: the lean client speaks plain http only")
        self.host, self.port = parts.hostname, parts.port or 80
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    async def post_form(self, form: Form, accept: str) -> LeanResponse:
        """POST ``form`` url-encoded; a stale pooled connection is retried once on a new one."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        body = urlencode(form, doseq=True).encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Accept: {accept}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        async with self._slots:
            for attempt in (0, 1):
                pooled = bool(self._idle) and attempt == 0
                reader, writer = self._idle.pop() if pooled else await self._connect()
                try:
                    writer.write(head + body)
                    response, reusable = await _read_response(reader)
                except (LeanHTTPError, ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    if pooled:
                        continue  # the store closed an idle connection: one more try
                    raise
                except BaseException:  # cancelled at the deadline: hang up on the store
                    writer.close()
                    raise
                if reusable:
                    self._idle.append((reader, writer))
                else:
                    writer.close()
                return response
        raise LeanHTTPError("unreachable")  # the loop returns or raises

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port, limit=_MAX_HEADER_BYTES)

    def close(self) -> None:
        for _, writer in self._idle:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                writer.close()
        self._idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[LeanResponse, bool]:
    """One response; whether its connection can carry another request."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise LeanHTTPError(f"not an HTTP/1.x response: {lines[0][:80]!r}")
    status = int(rest.split(" ", 1)[0])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        content = await _read_chunks(reader)
    elif "content-length" in headers:
        content = await reader.readexactly(int(headers["content-length"]))
    else:
        content, keep = await reader.read(), False
    return LeanResponse(status, headers, content), keep


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
