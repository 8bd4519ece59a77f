"""History on the web: every published release for download, and what changed between them.

Where releases live: the archive ``EMK_RELEASES_DIR`` (default ``releases/`` in the checkout),
one ``<version>/`` folder per release published with ``migration-kg release``, plus the release
the server serves (``dist/``) when its version is not archived yet — so a server with one
edition and no archive still offers its release under ``/release/<version>/``. An archived
version wins over ``dist/`` of the same version: a published release never changes.

Routes: ``/releases`` (the versions), ``/release/<version>/<file>`` (a file the version's
manifest lists, nothing else), ``/changes`` (the newest two releases compared) and
``/changes/<old>/<new>`` (HTML for people; JSON, Markdown or the change sets in Turtle by
``format=`` or Accept). Country and route pages show the changes that concern them through
:meth:`History.concerning`. Diffs are computed on first use and kept (a release is immutable).
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from migration_kg.core.errors import BadRequest, MigrationKGError
from migration_kg.core.formats import RdfFormat
from migration_kg.core.names import MANIFEST
from migration_kg.core.settings import Settings
from migration_kg.editions.diff import Change, ReleaseDiff, diff_releases
from migration_kg.editions.diff_render import (
    Shortener,
    render_json,
    render_text,
    render_turtle,
    statements,
    title_of,
)
from migration_kg.editions.releases import ReleaseDir, archived
from migration_kg.web.errors import CORS_HEADERS, ResourceNotFound
from migration_kg.web.negotiation import prefers_html
from migration_kg.web.rendering import Linker
from migration_kg.web.site import Site

log = logging.getLogger(__name__)
router = APIRouter()
_GET = ["GET", "HEAD"]
_FORMATS = {"html": "html", "json": "json", "md": "md", "markdown": "md", "ttl": "ttl"}
_MEDIA = {
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "ttl": "text/turtle; charset=utf-8",
}


@dataclass
class History:
    """The releases the server knows, oldest first, and their diffs (computed once each)."""

    releases: tuple[ReleaseDir, ...]
    current: ReleaseDir | None
    _diffs: dict[tuple[str, str], ReleaseDiff] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> History:
        """The archive's releases and the served one (when not archived)."""
        try:
            releases = list(archived(settings.releases))
        except MigrationKGError as exc:  # a broken archive must not stop the endpoint
            log.warning("release archive %s not read: %s", settings.releases, exc)
            releases = []
        current = None
        if (settings.dist / MANIFEST).is_file():
            try:
                current = ReleaseDir.open(settings.dist)
            except MigrationKGError as exc:
                log.warning("served release has no readable manifest: %s", exc)
        if current is not None and current.version not in {r.version for r in releases}:
            releases.append(current)
        history = cls(tuple(sorted(releases, key=lambda r: r.sort_key)), current)
        history.concerning("")  # the served release's diff, once, before workers fork
        return history

    def find(self, version: str) -> ReleaseDir:
        for release in self.releases:
            if release.version == version:
                return release
        raise ResourceNotFound(f"no release {version!r}; see /releases")

    def pairs(self) -> list[tuple[ReleaseDir, ReleaseDir]]:
        """Consecutive releases, newest first."""
        return list(reversed(list(zip(self.releases, self.releases[1:], strict=False))))

    def diff(self, old: ReleaseDir, new: ReleaseDir) -> ReleaseDiff:
        key = (old.version, new.version)
        with self._lock:
            if key not in self._diffs:
                self._diffs[key] = diff_releases(old, new)
            return self._diffs[key]

    def concerning(self, iri: str) -> tuple[ReleaseDiff, tuple[Change, ...]] | None:
        """The changes about ``iri`` from the release before the served one to the served one."""
        if self.current is None:
            return None
        newer = [r for r in self.releases if r.sort_key <= self.current.sort_key]
        if len(newer) < 2:
            return None
        diff = self.diff(newer[-2], self.find(self.current.version))
        return diff, diff.concerning(iri)


@dataclass(frozen=True)
class ChangeView:
    """One change as a page shows it: what, which resource (linked), values added and removed."""

    kind: str  # the heading of its kind ("Revised figures")
    change: str
    name: str  # the label, or the short IRI
    short: str
    href: str | None
    graph: str
    added: list[str]
    removed: list[str]


def change_views(
    changes: tuple[Change, ...] | list[Change], diff: ReleaseDiff, short: Shortener, linker: Linker
) -> list[ChangeView]:
    """The changes as pages show them (labels from the newer release, local links)."""
    return [
        ChangeView(
            title_of(c.kind),
            c.change,
            diff.labels.get(c.resource, short.iri(c.resource)),
            short.iri(c.resource),
            linker.href(c.resource) if c.change != "removed" else None,
            c.graph.rsplit("/", 1)[-1],
            statements(c.resource, c.plus, short),
            statements(c.resource, c.minus, short),
        )
        for c in changes
    ]


def _history(request: Request) -> History:
    history: History = request.app.state.history
    return history


@router.api_route("/releases", methods=_GET)
def releases(request: Request) -> Response:
    """Every release the server offers, newest first, with its files and changes."""
    history = _history(request)
    site: Site = request.app.state.site
    return site.html(
        request, "releases.html", releases=list(reversed(history.releases)), pairs=history.pairs()
    )


@router.api_route("/release/{version}/{name}", methods=_GET)
def release_file(request: Request, version: str, name: str) -> FileResponse:
    """A file of a published release, only if its manifest lists it."""
    release = _history(request).find(version)
    if name not in release.files():
        raise ResourceNotFound(f"release {version} has no file {name!r}; see /releases")
    path = release.path / name
    media = next((f.media_type for f in RdfFormat if f.extension == path.suffix[1:]), None)
    media = media or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers=CORS_HEADERS)


@router.api_route("/changes", methods=_GET)
def latest_changes(request: Request) -> Response:
    """What changed from the release before the newest to the newest."""
    history = _history(request)
    pairs = history.pairs()
    if not pairs:
        site: Site = request.app.state.site
        return site.html(request, "changes.html", diff=None, groups=[], derived=[], pairs=[])
    old, new = pairs[0]
    return _changes_response(request, history, old, new)


@router.api_route("/changes/{old}/{new}", methods=_GET)
def changes(request: Request, old: str, new: str) -> Response:
    """What changed between two releases (any two of /releases)."""
    history = _history(request)
    return _changes_response(request, history, history.find(old), history.find(new))


def _changes_response(
    request: Request, history: History, old: ReleaseDir, new: ReleaseDir
) -> Response:
    diff = history.diff(old, new)
    fmt = _format(request)
    prefixes = new.prefixes()
    headers = {"Vary": "Accept", **CORS_HEADERS}
    if fmt == "json":
        return Response(render_json(diff), media_type=_MEDIA["json"], headers=headers)
    if fmt == "md":
        body = render_text(diff, prefixes, markdown=True)
        return Response(body, media_type=_MEDIA["md"], headers=headers)
    if fmt == "ttl":
        return Response(render_turtle(diff, prefixes), media_type=_MEDIA["ttl"], headers=headers)
    site: Site = request.app.state.site
    short = Shortener(prefixes)
    views = change_views(diff.content, diff, short, site.formatter(request).linker)
    groups: dict[str, list[ChangeView]] = {}
    for view in views:
        groups.setdefault(view.kind, []).append(view)
    return site.html(
        request,
        "changes.html",
        diff=diff,
        groups=list(groups.items()),
        derived=_derived_summary(diff, short),
        pairs=history.pairs(),
    )


def _format(request: Request) -> str:
    """``format=`` (html, json, md, ttl), else the Accept header (browsers: HTML; else Turtle)."""
    given = request.query_params.getlist("format")
    if given:
        chosen = {_FORMATS.get(value.strip().lower()) for value in given}
        if len(chosen) != 1 or None in chosen:
            raise BadRequest(f"format={given!r}: use one of html, json, md, ttl", "format")
        return chosen.pop() or "html"
    accept = request.headers.get("accept") or ""
    if prefers_html(accept, [], (RdfFormat.TURTLE,)):
        return "html"
    if "application/json" in accept:
        return "json"
    if "text/markdown" in accept:
        return "md"
    return "ttl"


def _derived_summary(diff: ReleaseDiff, short: Shortener) -> list[tuple[str, int, int, int]]:
    """Per derived graph: resources changed, triples added, triples removed."""
    totals: dict[str, tuple[int, int, int]] = {}
    for change in diff.derived:
        n, added, removed = totals.get(short.iri(change.graph), (0, 0, 0))
        totals[short.iri(change.graph)] = (
            n + 1,
            added + len(change.plus),
            removed + len(change.minus),
        )
    return [(graph, n, added, removed) for graph, (n, added, removed) in totals.items()]


@dataclass(frozen=True)
class PlaceChanges:
    """What changed about one country or route since the previous release."""

    old: str
    new: str
    views: list[ChangeView]


def place_changes(request: Request, iri: str) -> PlaceChanges | None:
    """The changes a country or route page lists (None: no earlier release to compare with)."""
    found = _history(request).concerning(iri)
    if found is None:
        return None
    diff, changes = found
    site: Site = request.app.state.site
    prefixes = _history(request).find(diff.new).prefixes()
    views = change_views(changes, diff, Shortener(prefixes), site.formatter(request).linker)
    return PlaceChanges(diff.old, diff.new, views)
