"""Fixtures for the store tests: the web tests' fixture release, the real one, Oxigraph server.

The session's Virtuoso (tests/conftest.py) holds exactly two builds, the fixture release of
tests/web and the real release: these tests publish, re-publish and roll back those two only
(see the ``virtuoso`` fixture). Tests that stop a store or need a third build use their own
Oxigraph server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from migration_kg.core.settings import Settings
from store_support import Oxigraph, start_oxigraph

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from web_support import write_release


@pytest.fixture(scope="session")
def fixture_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fixture release of tests/web (62 triples over the five graphs)."""
    return Settings(dist_dir=write_release(tmp_path_factory.mktemp("fixture-release")))


@pytest.fixture(scope="session")
def real_settings(built_release: Any) -> Settings:
    return replace(built_release.settings)


@pytest.fixture()
def oxigraph(tmp_path: Path) -> Iterator[Oxigraph]:
    server = start_oxigraph(tmp_path / "oxigraph")
    yield server
    server.stop()
