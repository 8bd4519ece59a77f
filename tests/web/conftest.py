"""Fixtures for the web tests: a small release in tmp, an engine over it, a live uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_support import browser, page  # noqa: F401 (Chromium fixtures for the browser tests)
from web_support import MAX_BYTES, ROW_CAP, TIMEOUT_S, LiveServer, start_server, write_release

from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_release(tmp_path_factory.mktemp("release"))


@pytest.fixture(scope="session")
def settings(release_dir: Path) -> Settings:
    return Settings(
        dist_dir=release_dir,
        query_timeout_s=TIMEOUT_S,
        result_row_cap=ROW_CAP,
        max_request_bytes=MAX_BYTES,
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> QueryEngine:
    return QueryEngine.from_release(settings)


@pytest.fixture(scope="session")
def live(settings: Settings, engine: QueryEngine) -> Iterator[LiveServer]:
    server = start_server(settings, engine)
    yield server
    server.stop()


@pytest.fixture()
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=10, trust_env=False) as http:
        yield http


@pytest.fixture(scope="session")
def real_engine(built_release: Any) -> QueryEngine:
    """The engine over the session's build of the real repository (pages need real data)."""
    return QueryEngine.from_release(built_release.settings)


@pytest.fixture(scope="session")
def real_live(built_release: Any, real_engine: QueryEngine) -> Iterator[LiveServer]:
    server = start_server(built_release.settings, real_engine)
    yield server
    server.stop()


@pytest.fixture()
def site(real_live: LiveServer) -> Iterator[httpx.Client]:
    """A client of the real-release server (linked-data pages, search, downloads)."""
    with httpx.Client(base_url=real_live.url, timeout=30, trust_env=False) as http:
        yield http
