"""Security headers on every response.

Pure ASGI middleware, outermost but for the access log, so that every response the app writes
passes through it (the /sparql fast path included; errors that Starlette answers outside the
middleware get the same headers from ``web/errors.py``):

* ``X-Content-Type-Options: nosniff`` everywhere: error messages and search results echo what
  a visitor sent, and must never be sniffed into HTML;
* on HTML pages a Content-Security-Policy that allows only what the pages use: their own
  scripts (query.js, the vendored YASGUI), styles (and, by hash, the two that YASGUI writes
  into the page), images (and YASGUI's one ``data:`` GIF),
  ``fetch`` to this site (YASGUI's queries), forms to this site; nothing inline, nothing from
  elsewhere, no framing (``frame-ancestors 'none'``, and ``X-Frame-Options`` for old
  browsers), ``Referrer-Policy: same-origin`` (links to other datasets leak no path);
* on everything else (data, errors) the API policy ``default-src 'none'``: a result opened in
  a browser tab can run nothing.

Refusals written by the connection layer itself (431, 408, 413 and 503 in ``web/connection.py``,
before any ASGI app runs) carry the same ``ALWAYS`` and ``DATA_HEADERS``.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The two <style> elements YASGUI's table (its column-resizer) adds, allowed by their hashes
# rather than by 'unsafe-inline': its grips' rules, and the cursor while a column is dragged.
# tests/web/test_security.py checks that the vendored script still writes exactly these.
YASGUI_STYLES = {
    "grips": "sha256-zCK2EVMoPc04mRF/g5CotUvxbJPWS+8V0b+s9ptqQIk=",
    "dragging": "sha256-c0O6TmFAkgpNbHxKAa1BrveWHHopjEtC47i0PzMudxg=",
}
PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' " + " ".join(f"'{digest}'" for digest in YASGUI_STYLES.values()),
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"
# On every response, errors included (web/errors.py adds these to the ones it builds).
ALWAYS = {"X-Content-Type-Options": "nosniff"}
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
DATA_HEADERS = {"Content-Security-Policy": DATA_POLICY, "Referrer-Policy": "same-origin"}


def add_missing(message: Message, extra: Iterable[tuple[bytes, bytes]]) -> None:
    """Append to a response start's headers each of ``extra`` it does not set itself (a
    response may choose its own, e.g. a stricter policy or its own CORS exposure)."""
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    message["headers"] = headers + [(k, v) for k, v in extra if k not in present]


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


_ALWAYS, _PAGE, _DATA = _encoded(ALWAYS), _encoded(PAGE_HEADERS), _encoded(DATA_HEADERS)


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                html = any(
                    name.lower() == b"content-type" and value.lower().startswith(b"text/html")
                    for name, value in message.get("headers", [])
                )
                add_missing(message, [*_ALWAYS, *(_PAGE if html else _DATA)])
            await send(message)

        await self.app(scope, receive, send_with_headers)
