"""Exception class → HTTP status, decided once for the whole web app.

Every error leaves as ``text/plain`` with a message that names the parameter, line or column at
fault, and with the CORS headers: a browser client must be able to read why its request failed.
Errors we did not raise on purpose are logged with their traceback and become a terse 500.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response

from migration_kg.core.errors import (
    BadRequest,
    MigrationKGError,
    NotAcceptable,
    QueryAborted,
    QuerySyntaxError,
    QueryTimeout,
    ServerBusy,
    StoreError,
    UnknownQuery,
)
from migration_kg.web.admission import TooManyRequests
from migration_kg.web.outcome import note
from migration_kg.web.security import ALWAYS

log = logging.getLogger(__name__)

# Exposed so that browser clients can read the row-cap signal and revalidate with the ETag.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": (
        "ETag, X-Result-Truncated, X-Result-Row-Cap, Content-Length, Retry-After, X-Request-Id"
    ),
}


class UnsupportedMediaType(BadRequest):
    """A POST body whose Content-Type the SPARQL protocol does not define for queries."""


class PayloadTooLarge(BadRequest):
    """A request body or query string over ``settings.max_request_bytes``."""


class ResourceNotFound(MigrationKGError):
    """A dereferenced IRI, download or page that the release does not have."""


# Most specific first: the first class the exception is an instance of decides.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (UnsupportedMediaType, 415),
    (PayloadTooLarge, 413),
    (QuerySyntaxError, 400),
    (BadRequest, 400),
    (NotAcceptable, 406),
    (ResourceNotFound, 404),
    (UnknownQuery, 404),
    (TooManyRequests, 429),
    (QueryTimeout, 503),
    (StoreError, 502),  # serve --store: the store is unreachable or failed
)


def status_for(exc: Exception) -> int:
    """The HTTP status for ``exc``; 500 for anything not listed (a bug, not a bad request)."""
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def message_for(exc: Exception) -> str:
    """The user-facing text: position for syntax errors, a generic line for unexpected errors."""
    if isinstance(exc, QuerySyntaxError) and exc.line is not None:
        return f"SPARQL syntax error at line {exc.line}, column {exc.column}: {exc}"
    if isinstance(exc, QuerySyntaxError):
        return f"SPARQL syntax error: {exc}"
    if status_for(exc) == 500:
        return "internal server error (logged)"
    return str(exc)


def error_response(exc: Exception) -> Response:
    """A text/plain error response carrying CORS headers (used by every handler below).

    429 and 503 carry Retry-After: the exception's own suggestion when it has one (a full heavy
    lane frees at the next deadline), else one second. Refusals and stopped queries are noted
    for the access log and the metrics.
    """
    status = status_for(exc)
    if status == 500:
        log.error("unhandled error", exc_info=exc)
    headers = {**CORS_HEADERS, **ALWAYS}  # a 500 is written outside the app's middleware
    headers["Vary"] = "Accept"
    if status in (429, 503):
        headers["Retry-After"] = str(getattr(exc, "retry_after", 1))
    _note(exc)
    return PlainTextResponse(message_for(exc) + "\n", status_code=status, headers=headers)


def _note(exc: Exception) -> None:
    if isinstance(exc, TooManyRequests):
        note("rejected", "client_limit")
    elif isinstance(exc, ServerBusy):
        note("rejected", "busy")
    elif isinstance(exc, PayloadTooLarge):
        note("rejected", "body_too_large")
    elif isinstance(exc, QueryAborted):
        note("cancelled", "memory" if "memory" in str(exc) else "evaluator_died")
    elif isinstance(exc, QueryTimeout):
        note("cancelled", "deadline")


async def _domain_error(request: Request, exc: Exception) -> Response:
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = {**CORS_HEADERS, **ALWAYS, **(exc.headers or {})}
    return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping; ``Exception`` catches bugs so they still answer with CORS."""
    app.add_exception_handler(MigrationKGError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _domain_error)
