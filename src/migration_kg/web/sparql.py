"""Routes: /sparql (protocol + service description), /.well-known/void, /health, /metrics.

Each route is parse → engine → negotiate → respond; rules live in protocol.py, negotiation.py,
service_description.py and errors.py. State is read from ``request.app.state.emk`` (set by
``create_app``), never from module globals. ``sparql_response`` is shared by the /sparql route
and the app's fast path (app.py), which calls it without FastAPI's routing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from migration_kg.core.errors import QueryTimeout
from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.core.namespaces import PREFIXES, SD
from migration_kg.core.settings import Settings
from migration_kg.serve.backend import Backend
from migration_kg.web.admission import Admission, current_lane, remaining_s
from migration_kg.web.cache import ResultCache
from migration_kg.web.errors import CORS_HEADERS
from migration_kg.web.metrics import CONTENT_TYPE, Metrics
from migration_kg.web.negotiation import etag_matches, negotiate
from migration_kg.web.protocol import SparqlRequest, parse_sparql_request
from migration_kg.web.service_description import Describer, endpoint_url

router = APIRouter()
_SD_PREFIXES = {"sd": str(SD), **{name: str(ns) for name, ns in PREFIXES.items()}}


@dataclass(frozen=True)
class AppState:
    """Everything the routes need, built once by ``create_app``."""

    settings: Settings
    engine: Backend
    describer: Describer
    etag: str  # weak: every format of a response is the same data for one build
    cache: ResultCache | None = None  # off unless the server was asked for it
    admission: Admission | None = None
    metrics: Metrics | None = None


@router.api_route("/sparql", methods=["GET", "HEAD", "POST"])
async def sparql(request: Request) -> Response:
    """SPARQL 1.1 Protocol query operation; without a query, the service description."""
    return await sparql_response(request, request.app.state.emk)


async def sparql_response(request: Request, state: AppState) -> Response:
    """Parse, check ETag, answer (from the result cache when on) and respond; errors raise."""
    req = await parse_sparql_request(request, state.settings.max_request_bytes)
    if request.method != "POST" and etag_matches(req.if_none_match, state.etag):
        return _not_modified(state)
    if req.query is None:
        sd_format = negotiate(req.accept, req.formats, tuple(RdfFormat))
        triples = state.describer.service_description(endpoint_url(request, state.settings))
        return _respond(_rdf(triples, sd_format), sd_format, state)
    # Relative IRIs resolve against the endpoint's own URL, as Oxigraph and Fuseki do.
    base_iri = endpoint_url(request, state.settings)
    cache, key = state.cache, None
    if cache is not None:
        key = cache.key(req.query, req.default_graph_uris, req.named_graph_uris, base_iri)
        hit = cache.get(key, req.accept, req.formats)
        if hit is not None:
            return _answered(hit.body, hit.fmt, hit.truncated, state, cached="hit")
    try:
        answer = await state.engine.answer_async(
            req.query,
            partial(_choose, req),
            default_graph_uris=req.default_graph_uris,
            named_graph_uris=req.named_graph_uris,
            timeout_s=remaining_s(),  # time spent waiting for a slot counts
            base_iri=base_iri,
            background=current_lane.get() == "heavy",
        )
    except QueryTimeout as exc:
        if type(exc) is not QueryTimeout:  # busy, aborted: their own message
            raise
        limit = state.settings.query_timeout_s
        raise QueryTimeout(f"query exceeded the {limit:g} s timeout") from exc
    if cache is not None and key is not None:
        cache.put(key, answer.offered, answer.fmt, answer.body, answer.truncated)
        return _answered(answer.body, answer.fmt, answer.truncated, state, cached="miss")
    return _answered(answer.body, answer.fmt, answer.truncated, state)


def _choose(req: SparqlRequest, offered: tuple[Any, ...]) -> Any:
    """Negotiation for one request, run by the engine's worker once the result family is known."""
    return negotiate(req.accept, req.formats, offered)


def _answered(
    body: bytes,
    fmt: ResultFormat | RdfFormat,
    truncated: bool,
    state: AppState,
    cached: str | None = None,
) -> Response:
    response = _respond(body, fmt, state)
    if truncated:
        response.headers["X-Result-Truncated"] = "true"
        response.headers["X-Result-Row-Cap"] = str(state.settings.result_row_cap)
    if cached is not None:
        response.headers["X-Result-Cache"] = cached
    return response


@router.api_route("/.well-known/void", methods=["GET", "HEAD"])
async def void(request: Request) -> Response:
    """VoID/DCAT description of the dataset (the release's metadata graph when it has one)."""
    state: AppState = request.app.state.emk
    if etag_matches(request.headers.get("if-none-match"), state.etag):
        return _not_modified(state)
    fmt = negotiate(
        request.headers.get("accept"), request.query_params.getlist("format"), tuple(RdfFormat)
    )
    triples = state.describer.void(endpoint_url(request, state.settings))
    return _respond(_rdf(triples, fmt), fmt, state)


@router.api_route("/health", methods=["GET", "HEAD"])
async def health(request: Request) -> Response:
    """Liveness and what is being served (for probes and operators); never queued."""
    state: AppState = request.app.state.emk
    body: dict[str, Any] = {
        "status": "ok",
        "build_hash": state.engine.build_hash,
        "quads": len(state.engine),
    }
    if state.admission is not None:
        body["lanes"] = {
            lane: {"running": running, "waiting": waiting}
            for lane, (running, waiting) in state.admission.depth().items()
        }
    if state.cache is not None:
        body["result_cache"] = state.cache.stats()
    workers = getattr(request.app.state, "worker_stats", None)  # set by `serve` (web/server.py)
    if workers is not None:
        body["worker_restarts"] = workers.restarts
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.api_route("/metrics", methods=["GET", "HEAD"])
async def metrics(request: Request) -> Response:
    """Prometheus text format: requests, latency, cancellations, rejections, lanes, memory."""
    state: AppState = request.app.state.emk
    body = state.metrics.render() if state.metrics is not None else b""
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _rdf(triples: list[ox.Triple], fmt: RdfFormat) -> bytes:
    return ox.serialize(triples, format=fmt.oxigraph, prefixes=_SD_PREFIXES) or b""


def _respond(body: bytes, fmt: ResultFormat | RdfFormat, state: AppState) -> Response:
    media_type = fmt.media_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    headers = {"ETag": state.etag, "Vary": "Accept", **CORS_HEADERS}
    return Response(body, media_type=media_type, headers=headers)


def _not_modified(state: AppState) -> Response:
    headers = {"ETag": state.etag, "Vary": "Accept", **CORS_HEADERS}
    return Response(status_code=304, headers=headers)
