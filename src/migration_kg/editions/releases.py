"""Built release directories and the archive of published releases.

A *release directory* is what ``migration-kg build`` writes (``dist/``): the artefacts and
``manifest.json``, whose ``version`` is ``<ontology version>+<newest edition>`` (``0.1.0+2025-03``).
The *archive* (``EMK_RELEASES_DIR``, default ``releases/`` in the checkout) keeps one such
directory per published version, ``<archive>/<version>/``, filled by ``migration-kg release``:
the server offers every archived version for download and compares consecutive ones.

A published version never changes: publishing the same version again is a no-op when the build
is the same, and an error when it is not (a corrected release needs a new version).
Only the standard library and pyoxigraph are used here: the web layer reads releases too, and
it never imports the build.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from migration_kg.core.errors import MigrationKGError, SourceError
from migration_kg.core.formats import RdfFormat
from migration_kg.core.names import MANIFEST, artefact

QUADS = artefact(RdfFormat.NQUADS)
TURTLE = artefact(RdfFormat.TURTLE)
_PREFIX = re.compile(r"^@prefix (?P<name>[\w-]*): <(?P<iri>[^>]*)> \.$")
_VERSION = re.compile(r"^(?P<ontology>[0-9]+(?:\.[0-9]+)*)(?:\+(?P<edition>[0-9]{4}-[0-9]{2}))?$")


class ReleaseError(MigrationKGError):
    """Two releases that cannot be compared, or a release that cannot be published."""


@dataclass(frozen=True)
class ReleaseDir:
    """One built release: its directory and what its manifest says."""

    path: Path
    version: str
    build_hash: str
    manifest: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def open(cls, path: Path) -> ReleaseDir:
        """Read a release directory's manifest.

        Raises:
            SourceError: no directory, no ``manifest.json``, or a manifest without a version in
                the ``<ontology version>[+<edition>]`` form.
        """
        manifest_path = path / MANIFEST
        if not path.is_dir():
            raise SourceError(path, "not a directory (give a built release directory, e.g. dist/)")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SourceError(
                manifest_path, "no manifest.json: not a built release directory"
            ) from exc
        except (OSError, ValueError) as exc:
            raise SourceError(manifest_path, f"unreadable manifest: {exc}") from exc
        version = manifest.get("version") if isinstance(manifest, dict) else None
        if not isinstance(version, str) or not _VERSION.match(version):
            raise SourceError(manifest_path, f"no release version in the manifest ({version!r})")
        return cls(path, version, str(manifest.get("build_hash", "")), manifest)

    @property
    def ontology_version(self) -> str:
        return self.version.split("+", 1)[0]

    @property
    def major(self) -> int:
        return int(self.ontology_version.split(".", 1)[0])

    @property
    def edition(self) -> str | None:
        match = _VERSION.match(self.version)
        return match["edition"] if match else None

    @property
    def sort_key(self) -> tuple[str, tuple[int, ...]]:
        """Oldest first: by edition, then by ontology version."""
        return self.edition or "", tuple(int(n) for n in self.ontology_version.split("."))

    def files(self) -> tuple[str, ...]:
        """The names the manifest lists (and the manifest itself): all that may be served."""
        listed = self.manifest.get("artefacts", {})
        names = {name for name in listed if isinstance(name, str)} | {MANIFEST}
        return tuple(sorted(n for n in names if "/" not in n and (self.path / n).is_file()))

    def prefixes(self) -> dict[str, str]:
        """The prefixes the release's Turtle declares (the sources' own), for short names."""
        found: dict[str, str] = {}
        path = self.path / TURTLE
        if path.is_file():
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    match = _PREFIX.match(line)
                    if match is None:
                        break
                    found[match["name"]] = match["iri"]
        return found

    def quads(self) -> Iterator[ox.Quad]:
        """Every quad of the release (its N-Quads artefact).

        Raises:
            SourceError: when the release has no ``emk.nq`` or it does not parse.
        """
        path = self.path / QUADS
        if not path.is_file():
            raise SourceError(path, "the release has no N-Quads artefact")
        try:
            yield from ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS)
        except SyntaxError as exc:
            raise SourceError(path, f"does not parse: {exc}") from exc


def comparable(old: ReleaseDir, new: ReleaseDir) -> None:
    """Releases compare only within one ontology major version.

    Raises:
        ReleaseError: naming both versions when their ontology major versions differ.
    """
    if old.major != new.major:
        raise ReleaseError(
            f"cannot compare release {old.version} with {new.version}: ontology major versions "
            f"differ ({old.major} vs {new.major}), so the same IRIs may not mean the same things"
        )


def archived(archive: Path) -> tuple[ReleaseDir, ...]:
    """The published releases in the archive, oldest first (none if it does not exist)."""
    if not archive.is_dir():
        return ()
    found = []
    for path in sorted(archive.iterdir()):
        if path.is_dir() and not path.name.startswith(".") and (path / MANIFEST).is_file():
            release = ReleaseDir.open(path)
            if release.version == path.name:
                found.append(release)
    return tuple(sorted(found, key=lambda r: r.sort_key))


def publish(dist: Path, archive: Path) -> tuple[ReleaseDir, bool]:
    """Copy the release in ``dist`` to ``<archive>/<version>/``; True if it was new.

    Raises:
        SourceError: ``dist`` is not a built release.
        ReleaseError: the version is already published with another build.
    """
    release = ReleaseDir.open(dist)
    target = archive / release.version
    if target.exists():
        published = ReleaseDir.open(target)
        if published.build_hash != release.build_hash:
            raise ReleaseError(
                f"release {release.version} is already published (build "
                f"{published.build_hash[:12]}, this one {release.build_hash[:12]}); a published "
                "release never changes: give the new one a new version (ontology owl:versionInfo)"
            )
        return published, False
    archive.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{release.version}-", dir=archive))
    try:
        for name in release.files():
            shutil.copy2(dist / name, staging / name)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ReleaseDir.open(target), True
