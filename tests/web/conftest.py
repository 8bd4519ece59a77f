"""Fixtures for the web tests: a small release in tmp, an engine over it, a live uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web_support import MAX_BYTES, ROW_CAP, TIMEOUT_S, LiveServer, start_server, write_release

from migration_kg.config import Settings
from migration_kg.engine import QueryEngine


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
