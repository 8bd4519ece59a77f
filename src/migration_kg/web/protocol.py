"""SPARQL 1.1 Protocol request parsing: one HTTP request → one typed ``SparqlRequest``, once.

Following oxigraph's server, every ambiguity is an error rather than a guess: a repeated
``query`` or ``format``, a query both in the URL and in the body, a body that is not UTF-8, an
unknown POST content type (415) or an oversized request (413) all fail with a message naming the
parameter. Routes never look at raw parameters again after this.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request

from migration_kg.core.errors import BadRequest
from migration_kg.web.errors import PayloadTooLarge, UnsupportedMediaType
from migration_kg.web.negotiation import check_accept

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
SINGLE_VALUED = ("query",)
_MAX_FIELDS = 1000


@dataclass(frozen=True)
class SparqlRequest:
    """A parsed protocol request; ``query`` is None only for a service-description GET."""

    query: str | None
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()  # every format= value; negotiation checks they agree
    accept: str | None = None
    if_none_match: str | None = None


async def parse_sparql_request(request: Request, max_bytes: int) -> SparqlRequest:
    """Read parameters from the URL and, for POST, the body; validate them once.

    Raises:
        BadRequest: missing, repeated or undecodable parameters, or an update.
        UnsupportedMediaType: a POST whose Content-Type is not form-encoded or sparql-query.
        PayloadTooLarge: query string or body over ``max_bytes``.
    """
    raw_query = request.scope.get("query_string", b"")
    if len(raw_query) > max_bytes:
        raise PayloadTooLarge(f"query string is over the {max_bytes}-byte limit")
    params = _decode_pairs(raw_query, "URL query string")
    if request.method == "POST":
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type == SPARQL_UPDATE:
            raise BadRequest("SPARQL updates are not accepted: this endpoint is read-only")
        if media_type not in (FORM, SPARQL_QUERY):
            shown = media_type or "none"
            raise UnsupportedMediaType(
                f"Content-Type {shown} is not supported; POST a query as {FORM} or {SPARQL_QUERY}"
            )
        body = await _read_body(request, max_bytes)
        if media_type == FORM:
            params += _decode_pairs(body, "form body")
        else:
            if any(key == "query" for key, _ in params):
                raise BadRequest("query given both in the URL and in the body", "query")
            params.append(("query", _utf8(body, "request body")))
    return _build(params, request)


def _build(params: list[tuple[str, str]], request: Request) -> SparqlRequest:
    if any(key == "update" for key, _ in params):
        raise BadRequest("SPARQL updates are not accepted: this endpoint is read-only", "update")
    single: dict[str, str] = {}
    for key, value in params:
        if key in SINGLE_VALUED:
            if key in single:
                raise BadRequest(f"parameter {key!r} is given more than once", key)
            single[key] = value
    default = tuple(v for k, v in params if k == "default-graph-uri")
    named = tuple(v for k, v in params if k == "named-graph-uri")
    formats = tuple(v for k, v in params if k == "format")
    query = single.get("query")
    if query is None and (request.method == "POST" or default or named):
        raise BadRequest("missing required parameter 'query'", "query")
    if query is not None and not query.strip():
        raise BadRequest("parameter 'query' is empty", "query")
    accept = ", ".join(request.headers.getlist("accept")) or None
    check_accept(accept)  # here, not after evaluation, where negotiation happens
    return SparqlRequest(
        query, default, named, formats, accept, request.headers.get("if-none-match")
    )


def _decode_pairs(raw: bytes, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"cannot decode the {where}: {exc}") from exc


def _utf8(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the {where} is not valid UTF-8: {exc}") from exc


async def _read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise BadRequest(f"invalid Content-Length {declared!r}")
        if int(declared) > max_bytes:
            raise PayloadTooLarge(f"request body is over the {max_bytes}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"request body is over the {max_bytes}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)
