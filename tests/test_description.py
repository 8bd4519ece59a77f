"""The release's DCAT-AP and VoID description (``metadata`` graph; issue 9).

Why: the description is what the EU open-data portal harvests and what SPARQL clients read
before querying, so it must be valid DCAT-AP 3.0.1, state true sizes and checksums, and count
the linksets that data/links/ really holds.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import pyshacl
from rdflib import Graph, Literal, Namespace
from rdflib.namespace import DCAT, DCTERMS, RDF, SH, SKOS, VOID, XSD

from kg_helpers import BuiltRelease, vocab_path
from migration_kg.build.release.description import (
    DATASET,
    DescriptionInput,
    describe,
    statistics_of,
)
from migration_kg.core.namespaces import CONTENT_GRAPHS, GRAPH_LINKS, GRAPH_METADATA

DCAT_AP = "dcat-ap-3.0.1/dcat-ap-SHACL.ttl"  # under ../shared/vocab
SPDX = Namespace("http://spdx.org/rdf/terms#")


def metadata(built_release: BuiltRelease) -> Graph:
    return built_release.result.content.graphs[GRAPH_METADATA]


def test_description_is_valid_dcat_ap(built_release: BuiltRelease) -> None:
    shapes = Graph().parse(vocab_path(DCAT_AP))
    # The official 3.0.1 file lists two property shapes of dcat:DataServiceShape that it never
    # defines; pySHACL refuses such dangling references, so they are dropped (nothing to check).
    for shape, prop in list(shapes.subject_objects(SH.property)):
        if not list(shapes.predicate_objects(prop)):
            shapes.remove((shape, SH.property, prop))
    conforms, _, text = pyshacl.validate(
        metadata(built_release), shacl_graph=shapes, inference="none"
    )
    assert conforms, text


def test_distributions_cover_every_artefact(built_release: BuiltRelease) -> None:
    graph = metadata(built_release)
    names = {
        str(t)
        for d in graph.objects(DATASET, DCAT.distribution)
        for t in graph.objects(d, DCTERMS.title)
    }
    written = {p.name for p in built_release.dist.iterdir()}
    assert names == written


def test_sizes_and_checksums_are_those_of_the_files(built_release: BuiltRelease) -> None:
    """Only artefacts without the metadata graph can state their own size and hash."""
    graph = metadata(built_release)
    checked = set()
    for dist in graph.objects(DATASET, DCAT.distribution):
        size = graph.value(dist, DCAT.byteSize)
        if size is None:
            assert graph.value(dist, SPDX.checksum) is None
            continue
        name = str(graph.value(dist, DCTERMS.title))
        content = (built_release.dist / name).read_bytes()
        assert size == Literal(len(content), datatype=XSD.nonNegativeInteger)
        checksum = graph.value(dist, SPDX.checksum)
        value = graph.value(checksum, SPDX.checksumValue)  # type: ignore[arg-type]
        assert str(value) == hashlib.sha256(content).hexdigest()
        checked.add(name)
    assert checked == {"ontology.ttl", "context.jsonld", "partner-countries.jsonld"}


def test_void_counts_linksets_per_target(built_release: BuiltRelease) -> None:
    graph = metadata(built_release)
    links = built_release.result.content.graphs[GRAPH_LINKS]
    stated = Counter[tuple[str, str]]()
    for linkset in graph.subjects(RDF.type, VOID.Linkset):
        key = (
            str(graph.value(linkset, VOID.objectsTarget)),
            str(graph.value(linkset, VOID.linkPredicate)),
        )
        stated[key] += int(graph.value(linkset, VOID.triples))  # type: ignore[arg-type]
    assert sum(stated.values()) == sum(
        1
        for p in (SKOS.exactMatch, SKOS.closeMatch, DCTERMS.subject)
        for _ in links.subject_objects(p)
    )
    assert stated[("http://eurovoc.europa.eu/100141", str(DCTERMS.subject))] > 300
    assert (
        stated[("http://publications.europa.eu/resource/authority/country", str(SKOS.exactMatch))]
        == 64
    )


def test_void_triples_count_the_content_graphs(built_release: BuiltRelease) -> None:
    graph = metadata(built_release)
    triples = built_release.result.triples
    content = sum(n for iri, n in triples.items() if iri != str(GRAPH_METADATA))
    assert graph.value(DATASET, VOID.triples) == Literal(content, datatype=XSD.integer)
    assert (DATASET, RDF.type, DCAT.Dataset) in graph and (DATASET, RDF.type, VOID.Dataset) in graph


def test_void_numbers_are_those_rdflib_counts(built_release: BuiltRelease) -> None:
    """The release counts over its canonical lines; rdflib, counting over the graphs, agrees."""
    graph = metadata(built_release)
    stats = statistics_of(built_release.result.content.graphs)
    for iri in CONTENT_GRAPHS:
        assert graph.value(iri, VOID.triples) == Literal(stats.triples[iri], datatype=XSD.integer)
        subjects = Literal(stats.subjects[iri], datatype=XSD.integer)
        assert graph.value(iri, VOID.distinctSubjects) == subjects, iri
    expected = {VOID.triples: stats.total, VOID.entities: stats.entities,
                VOID.classes: stats.classes, VOID.properties: stats.properties}  # fmt: skip
    for prop, count in expected.items():
        assert graph.value(DATASET, prop) == Literal(count, datatype=XSD.integer), prop


def test_description_is_deterministic(built_release: BuiltRelease) -> None:
    content = built_release.result.content
    independent = {
        n: (built_release.dist / n).read_bytes()
        for n in ("ontology.ttl", "context.jsonld", "partner-countries.jsonld")
    }
    first = describe(DescriptionInput(content.version, content.graphs, independent))
    second = describe(DescriptionInput(content.version, content.graphs, independent))
    assert set(first) == set(second)
    assert set(first) <= set(metadata(built_release))
