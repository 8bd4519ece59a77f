"""Every namespace the project mints or reuses, spelled once."""

from __future__ import annotations

from rdflib import Namespace
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

from migration_kg.core.settings import BASE_IRI

EMK = Namespace(BASE_IRI + "ontology#")
ID = Namespace(BASE_IRI + "id/")
GRAPH = Namespace(BASE_IRI + "graph/")
CONCEPT = Namespace(BASE_IRI + "id/concept/")
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
