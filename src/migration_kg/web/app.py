"""``create_app(settings, engine)``: the one way to obtain the web application.

All state (settings, engine, the service describer, the pages' search index and templates) is
built here and hung on ``app.state``;
there is no module-level app, so tests and the CLI each build their own. Middleware order, from
the outside in: access log (sees the final status), CORS (also on errors), gzip.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from migration_kg.config import Settings
from migration_kg.engine import QueryEngine
from migration_kg.web.errors import install_error_handlers
from migration_kg.web.middleware import AccessLogMiddleware, CorsMiddleware
from migration_kg.web.pages import router as pages_router
from migration_kg.web.service_description import Describer
from migration_kg.web.site import Site
from migration_kg.web.sparql import AppState, router

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.emk
    log.info("serving build %s (%d quads)", state.engine.build_hash, len(state.engine))
    yield
    # Query threads are daemons holding no external resources: nothing to release but the log.
    log.info("shutting down")


def create_app(settings: Settings, engine: QueryEngine) -> FastAPI:
    """Build the read-only SPARQL endpoint and the linked-data site over ``engine``."""
    app = FastAPI(
        title="EU Migration Knowledge Graph",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan,
    )
    etag = f'W/"{engine.build_hash}"' if engine.build_hash else ""
    app.state.emk = AppState(settings, engine, Describer(engine, settings), etag)
    app.state.site = Site.build(settings, engine, etag)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(pages_router)
    static = Path(str(files("migration_kg.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(CorsMiddleware)
    app.add_middleware(AccessLogMiddleware)
    return app
