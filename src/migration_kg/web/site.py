"""The state behind the linked-data pages, built once per app by ``create_app``.

Search index and labels, the named-query catalogue, the Jinja environment and the release's
artefact list are all derived from an immutable release, so they are computed at start-up and
shared by every request; nothing here is module-level.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox
from jinja2 import Environment
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from migration_kg.core.errors import SourceError
from migration_kg.core.formats import RdfFormat
from migration_kg.core.namespaces import PREFIXES
from migration_kg.core.queries import QueryCatalogue, load_catalogue
from migration_kg.core.settings import Settings
from migration_kg.serve.backend import Backend
from migration_kg.web.errors import CORS_HEADERS
from migration_kg.web.negotiation import etag_matches
from migration_kg.web.rendering import Linker, TermFormatter, make_environment
from migration_kg.web.search import SearchIndex

log = logging.getLogger(__name__)

# The RDF formats a resource or the ontology is served in (Turtle first: the default).
DOCUMENT_FORMATS = (RdfFormat.TURTLE, RdfFormat.JSONLD, RdfFormat.NTRIPLES, RdfFormat.RDFXML)
EXTENSIONS = {fmt.extension: fmt for fmt in DOCUMENT_FORMATS}
_PREFIX_MAP = {name: str(ns) for name, ns in PREFIXES.items()}


@dataclass(frozen=True)
class Artefact:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Site:
    """What the pages share: labels/search, catalogue, templates, downloadable artefacts."""

    settings: Settings
    index: SearchIndex
    catalogue: QueryCatalogue
    templates: Environment
    artefacts: tuple[Artefact, ...]
    etag: str
    guide: Markup | None = None  # docs/querying.md as HTML; None without the checkout

    @classmethod
    def build(cls, settings: Settings, engine: Backend, etag: str) -> Site:
        """Index the store, read the catalogue (empty if queries/ is absent) and the manifest."""
        try:
            catalogue = load_catalogue(settings.queries_dir)
        except SourceError as exc:  # a server without the checkout still serves the data
            log.warning("no named queries: %s", exc)
            catalogue = QueryCatalogue({})
        listed = engine.manifest.get("artefacts", {})
        artefacts = tuple(
            Artefact(name, int(info.get("bytes", 0)), str(info.get("sha256", "")))
            for name, info in sorted(listed.items())
            if isinstance(info, dict) and (settings.dist / name).is_file()
        )
        return cls(
            settings,
            SearchIndex.from_engine(engine),
            catalogue,
            make_environment(),
            artefacts,
            etag,
            render_guide(settings.root / "docs" / "querying.md"),
        )

    def formatter(self, request: Request) -> TermFormatter:
        """Term formatting with links that point at this server (under its mount point)."""
        if self.settings.public_base_url:  # pinned: links follow its path (e.g. /kg behind a proxy)
            root = urlsplit(self.settings.public_base_url).path.rstrip("/")
        else:
            root = str(request.scope.get("root_path", ""))
        return TermFormatter(self.index.labels, Linker(self.settings.base_iri, root))

    def artefact_path(self, name: str) -> Path | None:
        """The file of a listed artefact; None for anything else (no path from the URL is used)."""
        for artefact in self.artefacts:
            if artefact.name == name:
                return self.settings.dist / artefact.name
        return None

    def unchanged(self, request: Request) -> Response | None:
        """304 when ``If-None-Match`` names this build (every page is a function of the build)."""
        if not etag_matches(request.headers.get("if-none-match"), self.etag):
            return None
        return Response(status_code=304, headers={"ETag": self.etag, "Vary": "Accept"})

    def html(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """Render a page; every page gets the linker (for URLs) and the query it searched for."""
        fmt = self.formatter(request)
        body = self.templates.get_template(template).render(
            linker=fmt.linker, q=request.query_params.get("q", ""), **context
        )
        headers = {"Vary": "Accept", **CORS_HEADERS}
        if self.etag:
            headers["ETag"] = self.etag
        return HTMLResponse(body, status_code=status, headers=headers)


def render_guide(path: Path) -> Markup | None:
    """The querying guide as HTML (CommonMark with tables; raw HTML in the source is escaped).

    Read from the checkout like the query catalogue: a server without it still serves the data.
    """
    if not path.is_file():
        log.warning("no querying guide at %s", path)
        return None
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = renderer.parse(path.read_text(encoding="utf-8"))
    for token in tokens:
        if token.type == "th_open":  # header cells name their column, as on every page
            token.attrSet("scope", "col")
    return Markup(renderer.renderer.render(tokens, renderer.options, {}))


def rdf_response(triples: list[ox.Triple], fmt: RdfFormat, etag: str, location: str) -> Response:
    """A graph document with the policy of every linked-data URL: 200, Vary and Content-Location."""
    body = ox.serialize(triples, format=fmt.oxigraph, prefixes=_PREFIX_MAP) or b""
    media_type = fmt.media_type + ("; charset=utf-8" if fmt.media_type.startswith("text/") else "")
    headers = {"Vary": "Accept", "Content-Location": location, **CORS_HEADERS}
    if etag:
        headers["ETag"] = etag
    return Response(body, media_type=media_type, headers=headers)
