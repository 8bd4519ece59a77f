"""Release versions and the archive of published releases (``migration-kg release``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from migration_kg.cli import app
from migration_kg.core.names import MANIFEST
from migration_kg.editions.releases import ReleaseDir, archived


def _release(built: Any, *args: str, archive: Path) -> tuple[int, str, str]:
    env = {"EMK_DIST_DIR": str(built.dist), "EMK_RELEASES_DIR": str(archive)}
    result = CliRunner().invoke(app, ["release", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_the_release_version_names_the_newest_edition(built_release: Any) -> None:
    release = ReleaseDir.open(built_release.dist)
    assert release.version == built_release.result.version == "0.1.0+2025-03"
    assert (release.ontology_version, release.major, release.edition) == ("0.1.0", 0, "2025-03")


def test_release_publishes_once_and_never_changes(built_release: Any, tmp_path: Path) -> None:
    archive = tmp_path / "releases"
    code, out, _ = _release(built_release, archive=archive)
    assert code == 0 and out.startswith("published: 0.1.0+2025-03")
    folder = archive / "0.1.0+2025-03"
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(p.name for p in folder.iterdir()) == sorted([*manifest["artefacts"], MANIFEST])
    code, out, _ = _release(built_release, archive=archive)
    assert code == 0 and out.startswith("already published (same build)")
    # Another build under the same version is refused: a published release never changes.
    other = tmp_path / "other"
    shutil.copytree(built_release.dist, other)
    manifest["build_hash"] = "0" * 64
    (other / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["release"], env={"EMK_DIST_DIR": str(other), "EMK_RELEASES_DIR": str(archive)}
    )
    assert result.exit_code == 2
    assert "release 0.1.0+2025-03 is already published" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert [r.version for r in archived(archive)] == ["0.1.0+2025-03"]


def test_archived_releases_are_ordered_by_edition(built_release: Any, tmp_path: Path) -> None:
    for version in ("0.2.0+2025-06", "0.1.0+2025-03", "0.1.1+2025-03", "0.1.0+2024-12"):
        folder = tmp_path / version
        shutil.copytree(built_release.dist, folder)
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        manifest["version"] = version
        (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "not-a-release").mkdir()
    assert [r.version for r in archived(tmp_path)] == [
        "0.1.0+2024-12", "0.1.0+2025-03", "0.1.1+2025-03", "0.2.0+2025-06"
    ]  # fmt: skip


def test_release_without_a_build_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["release"],
        env={"EMK_DIST_DIR": str(tmp_path), "EMK_RELEASES_DIR": str(tmp_path / "r")},
    )
    assert result.exit_code == 2
    assert "manifest.json: no manifest.json: not a built release directory" in result.stderr


@pytest.mark.parametrize("command", [["edition", "new"], ["draft"], ["diff"], ["release"]])
def test_every_edition_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout
