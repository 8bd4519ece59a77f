"""Routes of the linked-data site: dereferenceable IRIs, the ontology, pages for people.

``https://w3id.org/eu-migration-kg/<path>`` is served at ``<server>/<path>``: ``/id/…`` for
instances, ``/ontology`` for terms (``#Term`` is a fragment of that document), ``/ontology/<m>``
for a module of it (its page, or its description and terms as RDF). Policy for every
such URL (no 303 redirects): a direct 200 chosen by content negotiation, with ``Vary: Accept``
and ``Content-Location`` naming the format-specific URL (``/id/x.ttl``, ``.jsonld``, ``.nt``,
``.rdf``, ``.html``), which serves that format whatever the Accept header says. Each route is
parse → view builder (views.py, place.py) → render; no SPARQL or markup here.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from urllib.parse import quote

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import FileResponse, JSONResponse, Response

from migration_kg.core.errors import BadRequest
from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.core.namespaces import GRAPH_ONTOLOGY
from migration_kg.core.queries import QueryParam, internal_query
from migration_kg.serve.backend import Backend
from migration_kg.web.errors import CORS_HEADERS, ResourceNotFound
from migration_kg.web.history import place_changes
from migration_kg.web.negotiation import negotiate, prefers_html
from migration_kg.web.place import PLACE_TYPES, place_view
from migration_kg.web.rollup import rollup_view
from migration_kg.web.search import INTERNAL_ROW_CAP, INTERNAL_TIMEOUT_S
from migration_kg.web.site import DOCUMENT_FORMATS, EXTENSIONS, Site, rdf_response
from migration_kg.web.views import (
    describe,
    exists,
    home_view,
    ontology_module,
    ontology_terms,
    resource_view,
)

router = APIRouter()
HTML = "html"
_GET = ["GET", "HEAD"]
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
# Longer than any IRI or label of the release (143 characters), well short of uvicorn's own
# URL limit; past these a path names nothing and a search finds nothing, so they are refused.
MAX_PATH_CHARS = 2048
MAX_PARAMETER_CHARS = 2048
MAX_SEARCH_CHARS = 256
# Characters a path may keep as they are in an IRI; anything else is percent-encoded.
_IRI_SAFE = "/:@!$&'()*+,;=-._~%"


def _site(request: Request) -> tuple[Site, Backend]:
    return request.app.state.site, request.app.state.emk.engine


def _representation(request: Request, fixed: str | None) -> RdfFormat | str:
    """``html`` or the RDF format: a URL extension decides, else ``format=``, else Accept."""
    if fixed is not None:
        return HTML if fixed == HTML else EXTENSIONS[fixed]
    accept, formats = request.headers.get("accept"), request.query_params.getlist("format")
    if prefers_html(accept, formats, DOCUMENT_FORMATS):
        return HTML
    return negotiate(accept, formats, DOCUMENT_FORMATS)


def _resource_iri(base: str, path: str) -> str:
    """The IRI a request path names: as given when it is a valid IRI, else percent-encoded
    (``/id/a%20b`` arrives decoded as ``a b``: its IRI is ``…/id/a%20b``).

    Raises:
        ResourceNotFound: the path is too long or forms no IRI at all (nothing can have it).
    """
    if len(path) > MAX_PATH_CHARS:
        raise ResourceNotFound(f"no resource has a path longer than {MAX_PATH_CHARS} characters")
    for candidate in (base + path, base + quote(path, safe=_IRI_SAFE)):
        try:
            ox.NamedNode(candidate)
        except ValueError:
            continue
        return candidate
    raise ResourceNotFound(f"no resource: {quote(path[:200])!r} does not form an IRI")


def _split_extension(engine: Backend, iri: str) -> tuple[str, str | None]:
    """``…/x.ttl`` → (``…/x``, ``ttl``) unless ``…/x.ttl`` is itself a resource."""
    stem, dot, ext = iri.rpartition(".")
    if dot and (ext in EXTENSIONS or ext == HTML) and "/" not in ext and not exists(engine, iri):
        return stem, ext
    return iri, None


@router.api_route("/", methods=_GET)
def home(request: Request) -> Response:
    """Counts and entry points: routes, partner countries, latest next steps, queries."""
    site, engine = _site(request)
    view = home_view(engine, site.formatter(request))
    return site.html(request, "home.html", view=view, queries=len(site.catalogue))


@router.api_route("/id/{path:path}", methods=_GET)
def resource(request: Request, path: str) -> Response:
    """Dereference an instance IRI: its description as RDF, or its page."""
    site, engine = _site(request)
    if unchanged := site.unchanged(request):
        return unchanged
    iri, ext = _split_extension(engine, _resource_iri(site.settings.base_iri + "id/", path))
    rep = _representation(request, ext)
    fmt = site.formatter(request)
    if not exists(engine, iri):
        if rep == HTML:  # a person followed a stale link: offer resources with similar names
            words = iri.rsplit("/", 1)[-1].replace("-", " ")
            hits = [fmt.iri(hit.iri) for hit in site.index.search(words, limit=8)]
            return site.html(request, "not_found.html", 404, iri=iri, suggestions=hits)
        raise ResourceNotFound(f"no resource <{iri}> in this release; try /search?q=…")
    here = fmt.linker.href(iri) or ""
    if rep == HTML:
        triples = describe(engine, iri)
        view = resource_view(engine, iri, triples, fmt)
        place = place_view(engine, iri, fmt) if view.type_iris & PLACE_TYPES else None
        rollup = rollup_view(engine, iri, fmt, place) if place else None
        changes = place_changes(request, iri) if place else None
        response = site.html(
            request,
            "resource.html",
            view=view,
            place=place,
            rollup=rollup,
            here=here,
            changes=changes,
        )
        response.headers["Content-Location"] = here + ".html"
        return response
    assert isinstance(rep, RdfFormat)
    return rdf_response(describe(engine, iri), rep, site.etag, f"{here}.{rep.extension}")


@router.api_route("/ontology", methods=_GET)
@router.api_route("/ontology.{ext}", methods=_GET)
def ontology(request: Request, ext: str | None = None) -> Response:
    """The ontology document: its terms for people, the ontology graph for machines."""
    site, engine = _site(request)
    if unchanged := site.unchanged(request):
        return unchanged
    if ext is not None and ext not in EXTENSIONS and ext != HTML:
        raise ResourceNotFound(f"no ontology document /ontology.{ext}")
    rep = _representation(request, ext)
    here = site.formatter(request).linker.url("/ontology")
    if rep == HTML:
        terms = ontology_terms(engine, site.formatter(request))
        response = site.html(request, "ontology.html", groups=terms)
        response.headers["Content-Location"] = here + ".html"
        return response
    assert isinstance(rep, RdfFormat)
    result = engine.query(
        internal_query("ontology-graph.rq"),
        default_graph_uris=(str(GRAPH_ONTOLOGY),),
        timeout_s=INTERNAL_TIMEOUT_S,
        row_cap=INTERNAL_ROW_CAP,
    )
    return rdf_response(result.triples, rep, site.etag, f"{here}.{rep.extension}")


@router.api_route("/ontology/{name}", methods=_GET)
def ontology_module_document(request: Request, name: str) -> Response:
    """A module IRI (``…/ontology/events``): its page, or its Turtle (description and terms)."""
    site, engine = _site(request)
    if unchanged := site.unchanged(request):
        return unchanged
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    elif ext not in EXTENSIONS and ext != HTML:
        raise ResourceNotFound(f"no ontology module document /ontology/{name}")
    iri = _resource_iri(f"{site.settings.base_iri}ontology/", stem)
    triples = ontology_module(engine, iri)
    if not triples:
        raise ResourceNotFound(f"no ontology module <{iri}> in this release; see /ontology")
    rep = _representation(request, ext or None)
    fmt = site.formatter(request)
    here = fmt.linker.href(iri) or ""
    if rep == HTML:
        view = resource_view(engine, iri, describe(engine, iri), fmt)
        response = site.html(
            request, "resource.html", view=view, place=None, rollup=None, here=here
        )
        response.headers["Content-Location"] = here + ".html"
        return response
    assert isinstance(rep, RdfFormat)
    return rdf_response(triples, rep, site.etag, f"{here}.{rep.extension}")


@router.api_route("/search", methods=_GET)
def search(request: Request, q: str = "") -> Response:
    """Label search (accent- and case-insensitive); HTML for browsers, JSON otherwise."""
    site, _ = _site(request)
    if len(q) > MAX_SEARCH_CHARS:
        raise BadRequest(f"search text longer than {MAX_SEARCH_CHARS} characters ({len(q)})", "q")
    hits = site.index.search(q)
    accept, formats = request.headers.get("accept"), request.query_params.getlist("format")
    if prefers_html(accept, formats, (ResultFormat.JSON,)):
        fmt = site.formatter(request)
        rows = [(fmt.iri(hit.iri), hit) for hit in hits]
        return site.html(request, "search.html", rows=rows)
    linker = site.formatter(request).linker
    body = {
        "query": q,
        "results": [
            {
                "iri": h.iri,
                "label": h.label,
                "matched": h.matched,
                "acronym": h.acronym,
                "url": linker.href(h.iri),
            }
            for h in hits
        ],
    }
    return JSONResponse(body, headers={"Vary": "Accept", **CORS_HEADERS})


@router.api_route("/guide", methods=_GET)
def guide(request: Request) -> Response:
    """The querying guide (docs/querying.md): patterns, runnable examples, typing pitfalls."""
    site, _ = _site(request)
    if site.guide is None:
        raise ResourceNotFound("no querying guide in this deployment (docs/querying.md)")
    return site.html(request, "guide.html", guide=site.guide)


@router.api_route("/queries", methods=_GET)
def queries(request: Request) -> Response:
    """The named-query catalogue: id, title, description, parameters."""
    site, _ = _site(request)
    return site.html(request, "queries.html", catalogue=site.catalogue)


@router.api_route("/queries/{query_id}", methods=_GET)
async def named_query(request: Request, query_id: str) -> Response:
    """Run one named query; parameters come from the query string, bound by substitution."""
    site, engine = _site(request)
    query = site.catalogue[query_id]
    accept, formats = request.headers.get("accept"), request.query_params.getlist("format")
    bindings = bind_parameters(query.params, request.query_params)
    result = await engine.query_async(query.text, bindings=bindings)
    if prefers_html(accept, formats, result.formats()):
        return site.html(
            request, "query_result.html", query=query, result=result, fmt=site.formatter(request)
        )
    chosen = negotiate(accept, formats, result.formats())
    media_type = chosen.media_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    headers = {"Vary": "Accept", **CORS_HEADERS}
    if result.truncated:
        headers["X-Result-Truncated"] = "true"
    return Response(result.serialize(chosen), media_type=media_type, headers=headers)


@router.api_route("/query", methods=_GET)
def query_page(request: Request) -> Response:
    """The SPARQL query page: a form over /sparql, opening with the catalogue."""
    site, _ = _site(request)
    examples = {q.id: {"title": q.title, "text": q.text} for q in site.catalogue.values()}
    return site.html(request, "query.html", examples=examples)


@router.api_route("/downloads", methods=_GET)
def downloads(request: Request) -> Response:
    """Every release artefact with its size and sha256 (from manifest.json)."""
    site, _ = _site(request)
    return site.html(request, "downloads.html", artefacts=site.artefacts)


@router.api_route("/downloads/{name}", methods=_GET)
def download(request: Request, name: str) -> Response:
    """One artefact, only if the manifest lists it (the URL never becomes a path by itself)."""
    site, _ = _site(request)
    path = site.artefact_path(name)
    if path is None:
        raise ResourceNotFound(f"no release artefact {name!r}; see /downloads")
    media = next((f.media_type for f in RdfFormat if f.extension == path.suffix[1:]), None)
    media = media or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers=CORS_HEADERS)


def bind_parameters(
    params: Sequence[QueryParam], values: QueryParams
) -> dict[str, ox.NamedNode | ox.Literal]:
    """Declared parameters given in the URL: absolute IRIs as IRIs, anything else as a literal.

    Raises:
        BadRequest: a parameter given twice (which value would be meant is unclear), longer
            than ``MAX_PARAMETER_CHARS``, or an invalid IRI.
    """
    bound: dict[str, ox.NamedNode | ox.Literal] = {}
    for param in params:
        given = values.getlist(param.name)
        if len(given) > 1:
            raise BadRequest(f"parameter {param.name!r} given {len(given)} times", param.name)
        if not given:
            continue
        value = given[0]
        if len(value) > MAX_PARAMETER_CHARS:
            raise BadRequest(
                f"parameter {param.name!r} longer than {MAX_PARAMETER_CHARS} characters",
                param.name,
            )
        try:
            bound[param.name] = ox.NamedNode(value) if _ABSOLUTE.match(value) else ox.Literal(value)
        except ValueError as exc:
            message = f"parameter {param.name!r} is not a valid IRI or literal: {exc}"
            raise BadRequest(message, param.name) from exc
    return bound
