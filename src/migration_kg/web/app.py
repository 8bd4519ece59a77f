"""``create_app(settings, engine)``: the one way to obtain the web application.

All state (settings, engine, the service describer, the pages' search index and templates) is
built here and hung on ``app.state``;
there is no module-level app, so tests and the CLI each build their own. Middleware order, from
the outside in: access log (sees the final status), security headers, CORS (also on errors),
gzip.

/sparql takes a fast path: the same middleware and the same handler (``sparql_response``), but
without FastAPI's per-request work (telemetry checks reading the environment, routing, the
exception middlewares), which cost more than the engine on a lookup. Errors get the same
text/plain responses through ``error_response``.
"""

from __future__ import annotations

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
from migration_kg.serve.engine import QueryEngine
from migration_kg.web.cache import ResultCache
from migration_kg.web.errors import error_response, install_error_handlers
from migration_kg.web.history import History
from migration_kg.web.history import router as history_router
from migration_kg.web.middleware import AccessLogMiddleware, CorsMiddleware
from migration_kg.web.pages import router as pages_router
from migration_kg.web.security import SecurityHeadersMiddleware
from migration_kg.web.service_description import Describer
from migration_kg.web.site import Site
from migration_kg.web.sparql import AppState, router, sparql_response

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.emk
    log.info("serving build %s (%d quads)", state.engine.build_hash, len(state.engine))
    yield
    # Query threads are daemons holding no external resources: nothing to release but the log.
    log.info("shutting down")


_FAST_METHODS = frozenset({"GET", "HEAD", "POST"})
# zlib's default level: level 9 (Starlette's) costs several times the CPU for ~1 % smaller bodies.
_GZIP_LEVEL = 6


class EndpointApp(FastAPI):
    """FastAPI, except that /sparql GET/HEAD/POST go straight to ``sparql_fast`` when set."""

    sparql_fast: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.sparql_fast is not None and scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path == "/sparql" and scope["method"] in _FAST_METHODS:
                scope["app"] = self
                await self.sparql_fast(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings, engine: QueryEngine, *, result_cache: ResultCache | None = None
) -> FastAPI:
    """Build the read-only SPARQL endpoint and the linked-data site over ``engine``.

    ``result_cache`` (None: off) keeps answers of this build in memory; see web/cache.py.
    """
    app = EndpointApp(
        title="EU Migration Knowledge Graph",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan,
    )
    etag = f'W/"{engine.build_hash}"' if engine.build_hash else ""
    state = AppState(settings, engine, Describer(engine, settings), etag, result_cache)
    app.state.emk = state
    app.state.site = Site.build(settings, engine, etag)
    app.state.history = History.build(settings)  # published releases and their diffs
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(pages_router)
    app.include_router(history_router)
    static = Path(str(files("migration_kg.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=_GZIP_LEVEL)
    app.add_middleware(CorsMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.sparql_fast = _with_middleware(_fast_sparql(state))
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


def _with_middleware(endpoint: ASGIApp) -> ASGIApp:
    """The app's own middleware, in the same order, around the fast path."""
    gzip = GZipMiddleware(endpoint, minimum_size=1000, compresslevel=_GZIP_LEVEL)
    return AccessLogMiddleware(SecurityHeadersMiddleware(CorsMiddleware(gzip)))
