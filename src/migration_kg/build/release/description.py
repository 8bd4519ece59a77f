"""Dataset description: DCAT-AP 3.0.1 and VoID for the ``metadata`` graph of a release.

Part of the release step (reasoning → release, which calls this → build). Why: the EU open-data
portal harvests DCAT-AP, and VoID lets SPARQL clients see the size of the graph and its linksets
to other datasets before querying. Everything here is derived from the release's own graphs and
bytes, never from the clock, so two builds describe themselves identically.

Circularity, and how it is avoided: the ``metadata`` graph is part of every union artefact
(``emk.trig``, ``emk.ttl``…), so those cannot carry their own size or checksum; only the artefacts
that do not contain the metadata graph (``ontology.ttl``, ``context.jsonld``, the framed
``partner-countries.jsonld``) get
``dcat:byteSize`` and an ``spdx:checksum``. The sizes and sha256 of all artefacts are in
``manifest.json``, which every distribution points at with ``rdfs:seeAlso``.

The VoID numbers (triples, distinct subjects, entities, classes, properties) need a pass over
every triple; the release computes them once from its canonical lines and passes them in as
:class:`GraphStatistics`. Without them, :func:`statistics_of` counts over the rdflib graphs (the
reference the release's numbers are tested against).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, RDF, RDFS, SKOS, VOID, XSD

from migration_kg.core.formats import RdfFormat
from migration_kg.core.names import (
    CONTEXT,
    FRAMED_ARTEFACT,
    MANIFEST,
    ONTOLOGY_ARTEFACT,
    SPARQL_ENDPOINT_IRI,
    artefact,
    release_file_iri,
)
from migration_kg.core.namespaces import (
    CONTENT_GRAPHS,
    EMK,
    EU_AUTHORITY,
    GRAPH_DATA,
    GRAPH_LINKS,
    ID,
    LICENCE_DOCUMENT,
    ONTOLOGY,
)

SPDX = Namespace("http://spdx.org/rdf/terms#")
DCAT3 = Namespace(str(DCAT))  # rdflib's DCAT lacks DCAT 3 terms such as dcat:version
IANA = "http://www.iana.org/assignments/media-types/"
DATASET = ID["dataset"]  # the IRI the endpoint's /.well-known/void falls back to, kept stable
CATALOG = ID["catalog"]
SERVICE = ID["dataset/sparql-service"]
PROJECT = ID["org/emk-project"]  # the ontology's dcterms:creator and publisher
COMMISSION = EU_AUTHORITY["corporate-body/COM"]
THEMES = {  # EU data-theme table: code → English label
    "SOCI": "Population and society",
    "JUST": "Justice, legal system and public safety",
}

# Release file → (IANA media type, EU file-type code). Order: the union formats, then the rest.
MEDIA_TYPES: dict[str, tuple[str, str]] = {
    artefact(RdfFormat.TRIG): (RdfFormat.TRIG.media_type, "RDF_TRIG"),
    artefact(RdfFormat.NQUADS): (RdfFormat.NQUADS.media_type, "RDF_N_QUADS"),
    artefact(RdfFormat.TURTLE): (RdfFormat.TURTLE.media_type, "RDF_TURTLE"),
    artefact(RdfFormat.NTRIPLES): (RdfFormat.NTRIPLES.media_type, "RDF_N_TRIPLES"),
    artefact(RdfFormat.RDFXML): (RdfFormat.RDFXML.media_type, "RDF_XML"),
    artefact(RdfFormat.JSONLD): (RdfFormat.JSONLD.media_type, "JSON_LD"),
    ONTOLOGY_ARTEFACT: (RdfFormat.TURTLE.media_type, "RDF_TURTLE"),
    CONTEXT: (RdfFormat.JSONLD.media_type, "JSON_LD"),
    FRAMED_ARTEFACT: (RdfFormat.JSONLD.media_type, "JSON_LD"),
    MANIFEST: ("application/json", "JSON"),
}

# Linked IRI prefix → (target dataset, linkset slug).
LINK_TARGETS: dict[str, tuple[str, str]] = {
    **{
        str(EU_AUTHORITY[table + "/"]): (str(EU_AUTHORITY[table]), table)
        for table in ("country", "corporate-body", "currency", "eu-programme")
    },
    "http://data.europa.eu/eli/": ("http://data.europa.eu/eli", "eli"),
    "http://eurovoc.europa.eu/": ("http://eurovoc.europa.eu/100141", "eurovoc"),
    "http://www.wikidata.org/entity/": ("http://www.wikidata.org/", "wikidata"),
}

# Link predicate → linkset slug suffix. dcterms:subject holds the EuroVoc subject index.
LINK_PREDICATES: dict[URIRef, str] = {
    SKOS.exactMatch: "exactmatch",
    SKOS.closeMatch: "closematch",
    DCTERMS.subject: "subject",
}


@dataclass(frozen=True)
class GraphStatistics:
    """The VoID numbers of the content graphs (the metadata graph describes, so is not counted)."""

    triples: Mapping[URIRef, int]  # per content graph
    subjects: Mapping[URIRef, int]  # distinct subjects per content graph
    total: int  # distinct triples over the content graphs
    entities: int  # distinct subjects in the instance namespace (``id/``)
    classes: int  # distinct objects of rdf:type
    properties: int  # distinct predicates


@dataclass(frozen=True)
class DescriptionInput:
    """What the description needs: the release's graphs, version and independent artefacts."""

    version: str
    graphs: Mapping[URIRef, Graph]
    independent_artefacts: Mapping[str, bytes]  # artefacts that do not contain this description
    statistics: GraphStatistics | None = None  # counted from ``graphs`` when not given


def statistics_of(graphs: Mapping[URIRef, Graph]) -> GraphStatistics:
    """VoID numbers counted over rdflib graphs: slow for large graphs, but plainly right."""
    content = Graph(bind_namespaces="none")
    for iri in CONTENT_GRAPHS:
        content += graphs[iri]
    instances = str(ID)
    return GraphStatistics(
        triples={iri: len(graphs[iri]) for iri in CONTENT_GRAPHS},
        subjects={iri: len(set(graphs[iri].subjects())) for iri in CONTENT_GRAPHS},
        total=len(content),
        entities=len({s for s in content.subjects() if str(s).startswith(instances)}),
        classes=len(set(content.objects(None, RDF.type))),
        properties=len(set(content.predicates())),
    )


def describe(source: DescriptionInput) -> Graph:
    """DCAT-AP catalogue, dataset, distributions and SPARQL service, plus VoID statistics."""
    graph = Graph(bind_namespaces="none")
    _catalog(graph)
    _dataset(graph, source)
    for name in MEDIA_TYPES:
        _distribution(graph, source, name)
    _void(graph, source)
    return graph


def _text(graph: Graph, node: URIRef, prop: URIRef, value: str) -> None:
    graph.add((node, prop, Literal(value, lang="en")))


def _catalog(graph: Graph) -> None:
    graph.add((CATALOG, RDF.type, DCAT.Catalog))
    _text(graph, CATALOG, DCTERMS.title, "EU Migration Knowledge Graph catalogue")
    _text(graph, CATALOG, DCTERMS.description, "Releases of the EU Migration Knowledge Graph.")
    graph.add((CATALOG, DCTERMS.publisher, PROJECT))
    graph.add((CATALOG, DCTERMS.license, LICENCE_DOCUMENT))
    graph.add((CATALOG, DCAT.dataset, DATASET))
    graph.add((CATALOG, DCAT.service, SERVICE))
    graph.add((CATALOG, DCAT.themeTaxonomy, EU_AUTHORITY["data-theme"]))
    graph.add((EU_AUTHORITY["data-theme"], RDF.type, SKOS.ConceptScheme))
    _text(graph, EU_AUTHORITY["data-theme"], DCTERMS.title, "Data theme")
    graph.add((PROJECT, RDF.type, FOAF.Agent))
    graph.add((PROJECT, FOAF.name, Literal("EU Migration Knowledge Graph project", lang="en")))
    graph.add((LICENCE_DOCUMENT, RDF.type, DCTERMS.LicenseDocument))


def _dataset(graph: Graph, source: DescriptionInput) -> None:
    data = source.graphs[GRAPH_DATA]
    graph.add((DATASET, RDF.type, DCAT.Dataset))
    graph.add((DATASET, RDF.type, VOID.Dataset))
    _text(graph, DATASET, DCTERMS.title, "EU Migration Knowledge Graph")
    _text(
        graph,
        DATASET,
        DCTERMS.description,
        "The European Commission's Migration State of Play reports to the European Council as "
        "linked data: ontology, facts, outbound links and OWL RL inferences. Published by the "
        "project, not by the Commission; the Commission is the creator of the source reports.",
    )
    graph.add((DATASET, DCAT3.version, Literal(source.version)))
    graph.add((DATASET, DCTERMS.publisher, PROJECT))
    graph.add((DATASET, DCTERMS.license, LICENCE_DOCUMENT))
    graph.add((DATASET, DCTERMS.accessRights, EU_AUTHORITY["access-right/PUBLIC"]))
    graph.add((EU_AUTHORITY["access-right/PUBLIC"], RDF.type, DCTERMS.RightsStatement))
    graph.add((DATASET, DCTERMS.language, EU_AUTHORITY["language/ENG"]))
    graph.add((EU_AUTHORITY["language/ENG"], RDF.type, DCTERMS.LinguisticSystem))
    graph.add((DATASET, DCTERMS.conformsTo, ONTOLOGY))
    graph.add((ONTOLOGY, RDF.type, DCTERMS.Standard))
    graph.add((DATASET, DCAT.accessService, SERVICE))
    for keyword in ("migration", "asylum", "borders", "return", "visa", "European Union"):
        graph.add((DATASET, DCAT.keyword, Literal(keyword, lang="en")))
    for code, label in THEMES.items():
        theme = EU_AUTHORITY["data-theme/" + code]
        graph.add((DATASET, DCAT.theme, theme))
        _text(graph, theme, SKOS.prefLabel, label)
        graph.add((theme, RDF.type, SKOS.Concept))
        graph.add((theme, SKOS.inScheme, EU_AUTHORITY["data-theme"]))
    # DCAT-AP reserves dcterms:source for datasets; a report edition is a document, so the
    # dataset is prov:wasDerivedFrom it, and the edition's creator is the Commission.
    for edition in sorted(data.subjects(RDF.type, EMK.ReportEdition), key=str):
        graph.add((DATASET, PROV.wasDerivedFrom, edition))
        graph.add((edition, DCTERMS.creator, COMMISSION))
    graph.add((COMMISSION, RDF.type, FOAF.Agent))
    graph.add((COMMISSION, FOAF.name, Literal("European Commission", lang="en")))
    _coverage(graph, source)
    _service(graph)


def _coverage(graph: Graph, source: DescriptionInput) -> None:
    """Temporal coverage: the first and last day of any period the data uses; spatial: the
    authority-table countries the links name."""
    data = source.graphs[GRAPH_DATA]
    starts = sorted(str(o) for o in data.objects(None, EMK.startDate))
    ends = sorted(str(o) for o in data.objects(None, EMK.endDate))
    if starts and ends:
        period = ID["dataset/temporal-coverage"]
        graph.add((DATASET, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        graph.add((period, DCAT.startDate, Literal(starts[0], datatype=XSD.date)))
        graph.add((period, DCAT.endDate, Literal(ends[-1], datatype=XSD.date)))
    country = str(EU_AUTHORITY["country/"])
    for target in set(source.graphs[GRAPH_LINKS].objects(None, SKOS.exactMatch)):
        if str(target).startswith(country):
            graph.add((DATASET, DCTERMS.spatial, target))
            graph.add((target, RDF.type, DCTERMS.Location))


def _service(graph: Graph) -> None:
    graph.add((SERVICE, RDF.type, DCAT.DataService))
    _text(graph, SERVICE, DCTERMS.title, "EU Migration Knowledge Graph SPARQL endpoint")
    graph.add((SERVICE, DCAT.endpointURL, URIRef(SPARQL_ENDPOINT_IRI)))
    protocol = URIRef("https://www.w3.org/TR/sparql11-protocol/")
    graph.add((SERVICE, DCTERMS.conformsTo, protocol))
    graph.add((protocol, RDF.type, DCTERMS.Standard))
    graph.add((SERVICE, DCAT.servesDataset, DATASET))
    graph.add((SERVICE, DCTERMS.license, LICENCE_DOCUMENT))
    graph.add((DATASET, VOID.sparqlEndpoint, URIRef(SPARQL_ENDPOINT_IRI)))


def _distribution(graph: Graph, source: DescriptionInput, name: str) -> None:
    media, file_type = MEDIA_TYPES[name]
    dist = ID[f"release/{source.version}/distribution/{name}"]
    url = URIRef(release_file_iri(source.version, name))
    graph.add((DATASET, DCAT.distribution, dist))
    graph.add((dist, RDF.type, DCAT.Distribution))
    _text(graph, dist, DCTERMS.title, name)
    graph.add((dist, DCAT.accessURL, url))
    graph.add((dist, DCAT.downloadURL, url))
    graph.add((dist, DCAT.mediaType, URIRef(IANA + media)))
    graph.add((URIRef(IANA + media), RDF.type, DCTERMS.MediaType))
    graph.add((dist, DCTERMS.format, EU_AUTHORITY["file-type/" + file_type]))
    graph.add((EU_AUTHORITY["file-type/" + file_type], RDF.type, DCTERMS.MediaTypeOrExtent))
    graph.add((dist, DCTERMS.license, LICENCE_DOCUMENT))
    graph.add((dist, RDFS.seeAlso, URIRef(release_file_iri(source.version, MANIFEST))))
    content = source.independent_artefacts.get(name)
    if content is None:
        return  # contains this description (or describes it): size and hash are in the manifest
    checksum = ID[f"release/{source.version}/distribution/{name}/sha256"]
    graph.add((dist, DCAT.byteSize, Literal(len(content), datatype=XSD.nonNegativeInteger)))
    graph.add((dist, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
    digest = hashlib.sha256(content).hexdigest()
    graph.add((checksum, SPDX.checksumValue, Literal(digest, datatype=XSD.hexBinary)))


def _void(graph: Graph, source: DescriptionInput) -> None:
    """VoID statistics over the content graphs (the metadata graph describes, so is not counted)."""
    stats = source.statistics or statistics_of(source.graphs)
    for iri in CONTENT_GRAPHS:
        graph.add((DATASET, VOID.subset, iri))
        graph.add((iri, RDF.type, VOID.Dataset))
        graph.add((iri, VOID.triples, _count(stats.triples[iri])))
        graph.add((iri, VOID.distinctSubjects, _count(stats.subjects[iri])))
    graph.add((DATASET, VOID.uriSpace, Literal(str(ID))))
    graph.add((DATASET, VOID.triples, _count(stats.total)))
    graph.add((DATASET, VOID.entities, _count(stats.entities)))
    graph.add((DATASET, VOID.classes, _count(stats.classes)))
    graph.add((DATASET, VOID.properties, _count(stats.properties)))
    _linksets(graph, source.graphs[GRAPH_LINKS])


def _linksets(graph: Graph, links: Graph) -> None:
    """One void:Linkset per target dataset and link predicate, with its number of links."""
    counts: dict[tuple[str, str, URIRef], int] = {}
    for predicate in LINK_PREDICATES:
        for target in links.objects(None, predicate):
            for prefix, (dataset, slug) in LINK_TARGETS.items():
                if str(target).startswith(prefix):
                    key = (slug, dataset, predicate)
                    counts[key] = counts.get(key, 0) + 1
    for (slug, dataset, predicate), count in sorted(counts.items()):
        linkset = ID[f"dataset/linkset/{slug}-{LINK_PREDICATES[predicate]}"]
        graph.add((DATASET, VOID.subset, linkset))
        graph.add((linkset, RDF.type, VOID.Linkset))
        graph.add((linkset, VOID.subjectsTarget, DATASET))
        graph.add((linkset, VOID.objectsTarget, URIRef(dataset)))
        graph.add((linkset, VOID.linkPredicate, predicate))
        graph.add((linkset, VOID.triples, _count(count)))


def _count(value: int) -> Literal:
    return Literal(value, datatype=XSD.integer)
