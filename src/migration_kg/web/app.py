"""``create_app(settings, engine)``: the one way to obtain the web application.

All state (settings, engine, admission, metrics, the service describer, the pages' search index
and templates) is built here and hung on ``app.state``; there is no module-level app, so tests
and the CLI each build their own.

One middleware stack, built once, from the outside in: request records (id, metrics, access log: it
sees the final status), security headers and CORS (also on errors and refusals), admission (per-
client limits and lanes), gzip, then a dispatcher. /sparql GET/HEAD/POST take a fast path there —
the route's handler (``sparql_response``) without FastAPI's per-request work (telemetry checks
reading the environment, routing, the exception middlewares), which cost more than the engine on a
lookup; errors get the same text/plain responses through ``error_response``. Everything else goes to
FastAPI's own routing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from migration_kg.core.settings import Settings
from migration_kg.serve.backend import Backend
from migration_kg.web.admission import Admission, Limits
from migration_kg.web.cache import ResultCache
from migration_kg.web.clients import ClientResolver, parse_networks
from migration_kg.web.errors import error_response, install_error_handlers
from migration_kg.web.history import History
from migration_kg.web.history import router as history_router
from migration_kg.web.metrics import Metrics
from migration_kg.web.middleware import AdmissionMiddleware, CorsMiddleware, ObservabilityMiddleware
from migration_kg.web.pages import router as pages_router
from migration_kg.web.security import SecurityHeadersMiddleware
from migration_kg.web.service_description import Describer
from migration_kg.web.site import Site
from migration_kg.web.sparql import AppState, router, sparql_response

log = logging.getLogger(__name__)

_FAST_METHODS = frozenset({"GET", "HEAD", "POST"})
# zlib's default level: level 9 (Starlette's) costs several times the CPU for ~1 % smaller bodies.
_GZIP_LEVEL = 6
_SAMPLE_S = 1.0


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the evaluators while this process is quiet; sample the metrics; stop on exit."""
    state: AppState = app.state.emk
    log.info("serving build %s (%d quads)", state.engine.build_hash, len(state.engine))
    state.engine.start()
    sampler = asyncio.ensure_future(_sample(state))
    try:
        yield
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        state.engine.close()
        log.info("shut down")


async def _sample(state: AppState) -> None:
    while True:
        if state.metrics is not None:
            state.metrics.sample(state.admission, state.engine)
        await asyncio.sleep(_SAMPLE_S)


class EndpointApp(FastAPI):
    """FastAPI behind the middleware stack ``create_app`` builds once (``stack``)."""

    stack: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.stack is None:
            await self.routed(scope, receive, send)
            return
        scope["app"] = self
        await self.stack(scope, receive, send)

    async def routed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's own handling: its exception middlewares, then routing."""
        await super().__call__(scope, receive, send)


class _Dispatch:
    """Innermost layer: /sparql's fast path, or FastAPI."""

    def __init__(self, fast: ASGIApp, routed: ASGIApp) -> None:
        self.fast, self.routed = fast, routed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _FAST_METHODS:
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path == "/sparql":
                await self.fast(scope, receive, send)
                return
        await self.routed(scope, receive, send)


def create_app(
    settings: Settings,
    engine: Backend,
    *,
    result_cache: ResultCache | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    """Build the read-only SPARQL endpoint and the linked-data site over ``engine``.

    ``result_cache`` (None: off) keeps answers of this build in memory; see web/cache.py.
    ``metrics`` (default: single-process) is shared through files when workers are forked.

    Raises:
        ConfigError: a trusted proxy that is not an address or network.
    """
    app = EndpointApp(
        title="EU Migration Knowledge Graph",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan,
    )
    etag = f'W/"{engine.build_hash}"' if engine.build_hash else ""
    metrics = metrics or Metrics()
    admission = Admission(Limits.from_settings(settings, engine.parallelism))
    state = AppState(
        settings, engine, Describer(engine, settings), etag, result_cache, admission, metrics
    )
    app.state.emk = state
    app.state.site = Site.build(settings, engine, etag)
    app.state.history = History.build(settings)  # published releases and their diffs
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(pages_router)
    app.include_router(history_router)
    static = Path(str(files("migration_kg.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    resolver = ClientResolver(parse_networks(settings.trusted_proxies))
    dispatch = _Dispatch(_fast_sparql(state), app.routed)
    gzip = GZipMiddleware(dispatch, minimum_size=1000, compresslevel=_GZIP_LEVEL)
    admitted = AdmissionMiddleware(gzip, admission, resolver)
    secured = SecurityHeadersMiddleware(CorsMiddleware(admitted))
    app.stack = ObservabilityMiddleware(secured, metrics)
    return app


def _fast_sparql(state: AppState) -> ASGIApp:
    """/sparql as a bare ASGI app: the route's handler, errors mapped as the app maps them."""

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await sparql_response(Request(scope, receive), state)
        except Exception as exc:  # every error, like the app's handlers (500s are logged)
            response = error_response(exc)
        await response(scope, receive, send)

    return endpoint
