"""Shared fixtures: the real repository built once per session, and tiny fixture projects.

``built_release`` is the one build of ontology/ + data/ + shapes/ that every test reading the
release shares (tests/web and the shape tests use it too): building is the slow part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from editions_support import SecondEdition, make_second_edition
from kg_helpers import REPO, TINY_DATA, BuiltRelease, make_project, vocab_path
from migration_kg.build.periods import write_periods
from migration_kg.build.pipeline import build
from migration_kg.core.errors import ValidationFailed
from migration_kg.core.settings import Settings
from store_support import Oxigraph, Virtuoso, start_oxigraph, start_virtuoso


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the competency goldens whose results changed, printing each diff (not in CI)",
    )


@pytest.fixture(scope="session")
def built_release(tmp_path_factory: pytest.TempPathFactory) -> BuiltRelease:
    """The real repository, built once into a temporary dist/."""
    settings = Settings(root=REPO, dist_dir=tmp_path_factory.mktemp("release") / "dist")
    try:
        return BuiltRelease(settings=settings, result=build(settings))
    except ValidationFailed as exc:  # show what is wrong, not only how much
        pytest.fail(f"the repository does not build:\n{exc.report.render_text()[:8000]}")


@pytest.fixture(scope="session")
def shared_vocab() -> Path:
    """``../shared/vocab``; fails the test (never skips it) when the folder is missing."""
    return vocab_path()


@pytest.fixture()
def tiny_project(tmp_path: Path) -> Callable[..., Settings]:
    """Factory: a fixture project under tmp_path, with periods generated, and its Settings."""

    def create(data: str = TINY_DATA, shapes: dict[str, str] | None = None) -> Settings:
        root = make_project(tmp_path / "project", data, shapes)
        settings = Settings(root=root, dist_dir=tmp_path / "dist")
        write_periods(settings)
        return settings

    return create


@pytest.fixture(scope="session")
def second_edition(
    tmp_path_factory: pytest.TempPathFactory, built_release: BuiltRelease
) -> SecondEdition:
    """A copy of the repository with the test edition of tests/editions_support.py, built."""
    settings = make_second_edition(tmp_path_factory.mktemp("second-edition") / "repo")
    try:
        return SecondEdition(built_release.dist, settings, build(settings))
    except ValidationFailed as exc:
        pytest.fail(f"the second edition does not build:\n{exc.report.render_text()[:8000]}")


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """One Virtuoso 7 for the session (a fresh database on free loopback ports).

    tests/web serves the fixture and real releases from it (pinned by build hash); tests/store
    publishes, re-publishes and rolls back those same two builds, so that publish's pruning
    (it keeps the current and the previous release) never removes what the web tests read.
    """
    store = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield store
    store.stop()


@pytest.fixture(scope="session")
def fixture_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fixture release of tests/web (62 triples over the five graphs), for tests/store."""
    from web.web_support import write_release  # tests/web's helpers (tests/ is on the path)

    return Settings(dist_dir=write_release(tmp_path_factory.mktemp("fixture-release")))


@pytest.fixture(scope="session")
def real_settings(built_release: BuiltRelease) -> Settings:
    """The real release's settings, for tests/store."""
    return built_release.settings


@pytest.fixture()
def oxigraph(tmp_path: Path) -> Iterator[Oxigraph]:
    """An Oxigraph server of its own (tests/store: the tests that stop a store use this)."""
    server = start_oxigraph(tmp_path / "oxigraph")
    yield server
    server.stop()
