"""Routes: /sparql (protocol + service description), /.well-known/void, /health.

Each route is parse → engine → negotiate → respond; rules live in protocol.py, negotiation.py,
service_description.py and errors.py. State is read from ``request.app.state.emk`` (set by
``create_app``), never from module globals.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from migration_kg.config import Settings
from migration_kg.engine import OXIGRAPH_RDF_FORMATS, QueryEngine
from migration_kg.formats import RdfFormat, ResultFormat
from migration_kg.namespaces import PREFIXES, SD
from migration_kg.web.errors import CORS_HEADERS
from migration_kg.web.negotiation import negotiate
from migration_kg.web.protocol import parse_sparql_request
from migration_kg.web.service_description import Describer, endpoint_url

router = APIRouter()
# Serialising a few hundred rows takes well under a millisecond: cheaper inline than a thread hop.
_SERIALIZE_INLINE_MAX = 500
_SD_PREFIXES = {"sd": str(SD), **{name: str(ns) for name, ns in PREFIXES.items()}}


@dataclass(frozen=True)
class AppState:
    """Everything the routes need, built once by ``create_app``."""

    settings: Settings
    engine: QueryEngine
    describer: Describer
    etag: str  # weak: every format of a response is the same data for one build


@router.api_route("/sparql", methods=["GET", "HEAD", "POST"])
async def sparql(request: Request) -> Response:
    """SPARQL 1.1 Protocol query operation; without a query, the service description."""
    state: AppState = request.app.state.emk
    req = await parse_sparql_request(request, state.settings.max_request_bytes)
    if request.method != "POST" and _matches(req.if_none_match, state.etag):
        return _not_modified(state)
    if req.query is None:
        sd_format = negotiate(req.accept, req.formats, tuple(RdfFormat))
        triples = state.describer.service_description(endpoint_url(request, state.settings))
        return _respond(_rdf(triples, sd_format), sd_format, state)
    result = await state.engine.query_async(
        req.query, default_graph_uris=req.default_graph_uris, named_graph_uris=req.named_graph_uris
    )
    fmt = negotiate(req.accept, req.formats, result.formats())
    if len(result.terms) + len(result.triples) > _SERIALIZE_INLINE_MAX:  # keep the loop free
        body = await run_in_threadpool(result.serialize, fmt)
    else:
        body = result.serialize(fmt)
    response = _respond(body, fmt, state)
    if result.truncated:
        response.headers["X-Result-Truncated"] = "true"
        response.headers["X-Result-Row-Cap"] = str(state.settings.result_row_cap)
    return response


@router.api_route("/.well-known/void", methods=["GET", "HEAD"])
async def void(request: Request) -> Response:
    """VoID/DCAT description of the dataset (the release's metadata graph when it has one)."""
    state: AppState = request.app.state.emk
    if _matches(request.headers.get("if-none-match"), state.etag):
        return _not_modified(state)
    fmt = negotiate(
        request.headers.get("accept"), request.query_params.getlist("format"), tuple(RdfFormat)
    )
    triples = state.describer.void(endpoint_url(request, state.settings))
    return _respond(_rdf(triples, fmt), fmt, state)


@router.api_route("/health", methods=["GET", "HEAD"])
async def health(request: Request) -> Response:
    """Liveness and what is being served (for probes and operators)."""
    state: AppState = request.app.state.emk
    body = {"status": "ok", "build_hash": state.engine.build_hash, "quads": len(state.engine)}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _rdf(triples: list[ox.Triple], fmt: RdfFormat) -> bytes:
    return ox.serialize(triples, format=OXIGRAPH_RDF_FORMATS[fmt], prefixes=_SD_PREFIXES) or b""


def _respond(body: bytes, fmt: ResultFormat | RdfFormat, state: AppState) -> Response:
    media_type = fmt.media_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    headers = {"ETag": state.etag, "Vary": "Accept", **CORS_HEADERS}
    return Response(body, media_type=media_type, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored on both sides."""
    if not if_none_match or not etag:
        return False
    wanted = etag.removeprefix("W/")
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return any(tag in ("*", wanted) for tag in tags)


def _not_modified(state: AppState) -> Response:
    headers = {"ETag": state.etag, "Vary": "Accept", **CORS_HEADERS}
    return Response(status_code=304, headers=headers)
