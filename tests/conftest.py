"""Shared fixtures: the real repository built once per session, and tiny fixture projects.

``built_release`` is the one build of ontology/ + data/ + shapes/ that every test reading the
release shares (tests/web and the shape tests use it too): building is the slow part.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from editions_support import SecondEdition, make_second_edition
from kg_helpers import REPO, TINY_DATA, BuiltRelease, make_project, vocab_path
from migration_kg.build.periods import write_periods
from migration_kg.build.pipeline import build
from migration_kg.core.errors import ValidationFailed
from migration_kg.core.settings import Settings


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
