"""The endpoint describing itself: SPARQL service description (sd:) and VoID, as pyoxigraph triples.

Counts are computed once per app (the release is immutable while served). The endpoint IRI comes
from the request, honouring ``Forwarded`` and ``X-Forwarded-Proto/Host`` so that the description
is right behind a reverse proxy, unless ``settings.public_base_url`` pins it. The row cap and the
timeout are announced with two extension properties in the emk: namespace
(``emk:resultRowCap``, ``emk:queryTimeoutSeconds``; see docs/endpoint.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

import pyoxigraph as ox
from rdflib.namespace import DCAT, VOID
from starlette.requests import Request

from migration_kg.core.namespaces import EMK, GRAPH_METADATA, SD
from migration_kg.core.queries import internal_query
from migration_kg.core.settings import Settings
from migration_kg.serve.backend import Backend

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_SEE_ALSO = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso")
DCT_HAS_VERSION = ox.NamedNode("http://purl.org/dc/terms/hasVersion")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
XSD_DECIMAL = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
FORMAT_IRIS = (
    "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
    "http://www.w3.org/ns/formats/SPARQL_Results_XML",
    "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
    "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
    "http://www.w3.org/ns/formats/Turtle",
    "http://www.w3.org/ns/formats/N-Triples",
    "http://www.w3.org/ns/formats/JSON-LD",
    "http://www.w3.org/ns/formats/RDF_XML",
    "http://www.w3.org/ns/formats/TriG",
    "http://www.w3.org/ns/formats/N-Quads",
)
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")
_FORWARDED_PAIR = re.compile(r'(proto|host)="?([^";,]+)"?', re.IGNORECASE)
_TIMEOUT = 60.0  # internal counting queries run once at startup, not under the user timeout


def _node(iri: object) -> ox.NamedNode:
    return ox.NamedNode(str(iri))


@dataclass(frozen=True)
class GraphCount:
    graph: str
    triples: int
    subjects: int


class Describer:
    """Builds the service description and VoID for one engine; counts are taken once."""

    def __init__(self, engine: Backend, settings: Settings) -> None:
        self.settings = settings
        self.build_hash = engine.build_hash
        counts = engine.query(internal_query("graph-counts.rq"), timeout_s=_TIMEOUT)
        self.graphs = [
            GraphCount(str(g), int(t or 0), int(s or 0)) for g, t, s in counts.rows if g is not None
        ]
        metadata = engine.query(
            internal_query("metadata-graph.rq"),
            default_graph_uris=(str(GRAPH_METADATA),),
            timeout_s=_TIMEOUT,
        )
        self.metadata = metadata.triples

    def service_description(self, endpoint: str) -> list[ox.Triple]:
        """sd:Service for ``endpoint``: language, formats, features, dataset, limits."""
        svc, ep = ox.NamedNode(endpoint + "#service"), ox.NamedNode(endpoint)
        dataset, default = ox.NamedNode(endpoint + "#dataset"), ox.NamedNode(endpoint + "#default")
        out = [
            ox.Triple(svc, RDF_TYPE, _node(SD.Service)),
            ox.Triple(svc, _node(SD.endpoint), ep),
            ox.Triple(svc, _node(SD.supportedLanguage), _node(SD.SPARQL11Query)),
            ox.Triple(svc, _node(SD.feature), _node(SD.UnionDefaultGraph)),
            ox.Triple(svc, _node(SD.defaultDataset), dataset),
            ox.Triple(svc, _node(EMK.resultRowCap), _int(self.settings.result_row_cap)),
            ox.Triple(svc, _node(EMK.queryTimeoutSeconds), _decimal(self.settings.query_timeout_s)),
            ox.Triple(svc, RDFS_SEE_ALSO, ox.NamedNode(urljoin(endpoint, "/.well-known/void"))),
            ox.Triple(dataset, RDF_TYPE, _node(SD.Dataset)),
            ox.Triple(dataset, _node(SD.defaultGraph), default),
            ox.Triple(default, RDF_TYPE, _node(SD.Graph)),
            ox.Triple(default, _node(VOID.triples), _int(sum(g.triples for g in self.graphs))),
        ]
        if self.build_hash:
            out.append(ox.Triple(dataset, DCT_HAS_VERSION, ox.Literal(self.build_hash)))
        if self.settings.service_allowlist:
            out.append(ox.Triple(svc, _node(SD.feature), _node(SD.BasicFederatedQuery)))
        out.extend(ox.Triple(svc, _node(SD.resultFormat), ox.NamedNode(i)) for i in FORMAT_IRIS)
        for index, count in enumerate(self.graphs):
            named, graph = (ox.NamedNode(f"{endpoint}#graph-{index}-{part}") for part in "ng")
            out += [
                ox.Triple(dataset, _node(SD.namedGraph), named),
                ox.Triple(named, RDF_TYPE, _node(SD.NamedGraph)),
                ox.Triple(named, _node(SD.name), ox.NamedNode(count.graph)),
                ox.Triple(named, _node(SD.graph), graph),
                ox.Triple(graph, RDF_TYPE, _node(SD.Graph)),
                ox.Triple(graph, _node(VOID.triples), _int(count.triples)),
            ]
        return out

    def void(self, endpoint: str) -> list[ox.Triple]:
        """VoID for /.well-known/void: the metadata graph itself when it describes a dataset.

        Otherwise VoID built from the counts, followed by whatever the metadata graph holds
        (release provenance, licence), so that nothing the build recorded is hidden.
        """
        dataset_classes = (_node(VOID.Dataset), _node(DCAT.Dataset))
        if any(t.predicate == RDF_TYPE and t.object in dataset_classes for t in self.metadata):
            return self.metadata
        dataset = ox.NamedNode(self.settings.base_iri + "dataset")
        out = [
            ox.Triple(dataset, RDF_TYPE, _node(VOID.Dataset)),
            ox.Triple(dataset, _node(VOID.sparqlEndpoint), ox.NamedNode(endpoint)),
            ox.Triple(dataset, _node(VOID.uriSpace), ox.Literal(self.settings.base_iri + "id/")),
            ox.Triple(dataset, _node(VOID.triples), _int(sum(g.triples for g in self.graphs))),
        ]
        for count in self.graphs:
            subset = ox.NamedNode(count.graph)
            out += [
                ox.Triple(dataset, _node(VOID.subset), subset),
                ox.Triple(subset, RDF_TYPE, _node(VOID.Dataset)),
                ox.Triple(subset, _node(VOID.triples), _int(count.triples)),
                ox.Triple(subset, _node(VOID.distinctSubjects), _int(count.subjects)),
            ]
        return out + self.metadata


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=XSD_INTEGER)


def _decimal(value: float) -> ox.Literal:
    return ox.Literal(f"{value:f}".rstrip("0").rstrip(".") or "0", datatype=XSD_DECIMAL)


def _valid(proto: str, host: str) -> bool:
    return proto.lower() in ("http", "https") and _HOST.match(host) is not None


def endpoint_url(request: Request, settings: Settings) -> str:
    """The public URL of /sparql: public_base_url, else Forwarded, X-Forwarded-*, then Host.

    Header values that are not a plain scheme or host[:port] are ignored (they would otherwise
    be echoed into the description).
    """
    if settings.public_base_url:
        return urljoin(settings.public_base_url, "sparql")
    direct = (str(request.scope.get("scheme") or "http"), request.headers.get("host", ""))
    forwarded = request.headers.get("forwarded")
    if forwarded:
        pairs = {k.lower(): v.strip() for k, v in _FORWARDED_PAIR.findall(forwarded.split(",")[0])}
        proxied = (pairs.get("proto", direct[0]), pairs.get("host", direct[1]))
    else:
        proto = request.headers.get("x-forwarded-proto", direct[0]).split(",")[0].strip()
        proxied = (proto, request.headers.get("x-forwarded-host", direct[1]).split(",")[0].strip())
    fallback = ("http", f"{settings.host}:{settings.port}")
    proto, host = next(c for c in (proxied, direct, fallback) if _valid(*c))
    return f"{proto.lower()}://{host}{request.scope.get('root_path', '')}/sparql"
