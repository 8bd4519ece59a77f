"""Every namespace the project mints or reuses, spelled once."""

from __future__ import annotations

from collections.abc import Mapping

from rdflib import Namespace, URIRef
from rdflib.namespace import (
    DCAT,
    DCTERMS,
    FOAF,
    ORG,
    OWL,
    PROV,
    QB,
    RDF,
    RDFS,
    SKOS,
    TIME,
    VOID,
    XSD,
)

from migration_kg.core.names import BASE_IRI, GRAPH_BASE, ID_BASE, LICENCE, ONTOLOGY_IRI

EMK = Namespace(BASE_IRI + "ontology#")
ID = Namespace(ID_BASE)
GRAPH = Namespace(GRAPH_BASE)
CONCEPT = Namespace(ID_BASE + "concept/")
SCHEMA = Namespace("https://schema.org/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
CPOV = Namespace("http://data.europa.eu/m8g/")
VANN = Namespace("http://purl.org/vocab/vann/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
EU_AUTHORITY = Namespace("http://publications.europa.eu/resource/authority/")
EUROVOC = Namespace("http://eurovoc.europa.eu/")

# The release's named graphs: asserted and inferred triples are never mixed.
GRAPH_ONTOLOGY = GRAPH["ontology"]
GRAPH_DATA = GRAPH["data"]
GRAPH_LINKS = GRAPH["links"]
GRAPH_INFERRED = GRAPH["inferred"]
GRAPH_METADATA = GRAPH["metadata"]
RELEASE_GRAPHS = (GRAPH_ONTOLOGY, GRAPH_DATA, GRAPH_LINKS, GRAPH_INFERRED, GRAPH_METADATA)
# What the release says about the world (the metadata graph describes the release itself).
CONTENT_GRAPHS = (GRAPH_ONTOLOGY, GRAPH_DATA, GRAPH_LINKS, GRAPH_INFERRED)
LICENCE_DOCUMENT = URIRef(LICENCE)
ONTOLOGY = URIRef(ONTOLOGY_IRI)

PREFIXES: dict[str, Namespace] = {
    "emk": EMK,
    "rdf": Namespace(str(RDF)),
    "rdfs": Namespace(str(RDFS)),
    "owl": Namespace(str(OWL)),
    "xsd": Namespace(str(XSD)),
    "skos": Namespace(str(SKOS)),
    "dcterms": Namespace(str(DCTERMS)),
    "prov": Namespace(str(PROV)),
    "org": Namespace(str(ORG)),
    "foaf": Namespace(str(FOAF)),
    "time": Namespace(str(TIME)),
    "qb": Namespace(str(QB)),
    "dcat": Namespace(str(DCAT)),
    "void": Namespace(str(VOID)),
    "schema": SCHEMA,
    "eli": ELI,
    "cpov": CPOV,
}

_LONGEST_FIRST = sorted(
    ((str(ns), name) for name, ns in PREFIXES.items()), key=lambda p: -len(p[0])
)


def compact_iri(iri: str, extra: Mapping[str, str] | None = None) -> str:
    """``prefix:local`` under the longest matching known namespace, else the IRI itself.

    ``extra`` adds namespaces (name → IRI) for one use, e.g. ``graph:`` in the CLI's counts.
    """
    candidates = _LONGEST_FIRST
    if extra:
        added = [(ns, name) for name, ns in extra.items()]
        candidates = sorted([*added, *_LONGEST_FIRST], key=lambda p: -len(p[0]))
    for namespace, name in candidates:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{name}:{iri[len(namespace) :]}"
    return iri
