"""The ontology: documented terms and modules, nothing redefined, data uses only declared terms,
and HermiT finds it consistent with no unsatisfiable class."""

from __future__ import annotations

import time
from pathlib import Path

import owlready2
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg_helpers import REPO
from migration_kg.build.loading import LoadedSources, SourceKind, load_sources
from migration_kg.core.namespaces import CONCEPT, EMK
from migration_kg.core.namespaces import ONTOLOGY as ONTOLOGY_IRI
from migration_kg.core.settings import Settings

TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
MODULE_FIELDS = (DCTERMS.title, DCTERMS.description, DCTERMS.license, DCTERMS.creator,
                 OWL.versionIRI, OWL.versionInfo)  # fmt: skip
REUSED = [
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#", "http://www.w3.org/2001/XMLSchema#",
    "http://www.w3.org/2004/02/skos/core#", "http://www.w3.org/ns/prov#",
    "http://www.w3.org/ns/org#", "http://purl.org/dc/terms/", "http://xmlns.com/foaf/0.1/",
    "http://www.w3.org/2006/time#", "http://purl.org/linked-data/cube#", "https://schema.org/",
    "http://schema.org/", "http://data.europa.eu/eli/ontology#", "http://data.europa.eu/m8g/",
]  # fmt: skip


XSD_NS = "http://www.w3.org/2001/XMLSchema#"
NOT_OWL2_DATATYPES = {
    URIRef(XSD_NS + name): RDFS.Literal
    for name in ("date", "gYear", "gYearMonth", "gMonth", "gDay", "time")
}


@pytest.fixture(scope="module")
def sources() -> LoadedSources:
    return load_sources(Settings(root=REPO))


@pytest.fixture(scope="module")
def ontology(sources: LoadedSources) -> Graph:
    return sources.union(SourceKind.ONTOLOGY)


@pytest.fixture(scope="module")
def data(sources: LoadedSources) -> Graph:
    return sources.union(SourceKind.DATA, SourceKind.LINKS)


def _terms(ontology: Graph) -> list[URIRef]:
    found = {s for t in TERM_TYPES for s in ontology.subjects(RDF.type, t)}
    return sorted(s for s in found if isinstance(s, URIRef) and s.startswith(str(EMK)))


def _english(graph: Graph, subject: URIRef, predicate: URIRef) -> list[Literal]:
    return [
        o
        for o in graph.objects(subject, predicate)
        if isinstance(o, Literal) and o.language == "en"
    ]


def test_every_term_is_labelled_defined_and_attributed(ontology: Graph) -> None:
    modules = set(ontology.subjects(RDF.type, OWL.Ontology))
    terms = _terms(ontology)
    assert terms, "no emk: term declared"
    problems = []
    for term in terms:
        if len(_english(ontology, term, RDFS.label)) != 1:
            problems.append(f"{term}: needs exactly one rdfs:label @en")
        if len(_english(ontology, term, SKOS.definition)) != 1:
            problems.append(f"{term}: needs exactly one skos:definition @en")
        defined_by = set(ontology.objects(term, RDFS.isDefinedBy))
        if len(defined_by) != 1 or not defined_by <= modules:
            problems.append(f"{term}: rdfs:isDefinedBy {sorted(defined_by)} is not one module")
    assert not problems, "\n".join(problems)


def test_every_module_is_documented_and_imported(ontology: Graph) -> None:
    modules = sorted(ontology.subjects(RDF.type, OWL.Ontology))
    assert len(modules) == len(list((REPO / "ontology").glob("*.ttl")))
    imported = set(ontology.objects(ONTOLOGY_IRI, OWL.imports))
    problems = []
    for module in modules:
        for field in MODULE_FIELDS:
            if ontology.value(module, field) is None:
                problems.append(f"{module}: no {field}")
        if not isinstance(ontology.value(module, DCTERMS.license), URIRef):
            problems.append(f"{module}: dcterms:license must be an IRI")
        if module != ONTOLOGY_IRI and module not in imported:
            problems.append(f"{module}: not imported by {ONTOLOGY_IRI}")
    assert not problems, "\n".join(problems)


def test_no_reused_term_is_redefined(sources: LoadedSources) -> None:
    problems = [
        f"{source.relpath}: {s.n3()} {p.n3()} {o.n3()}"
        for source in sources.of_kind(SourceKind.ONTOLOGY)
        for s, p, o in sources.graph(source)
        if isinstance(s, URIRef) and str(s).startswith(tuple(REUSED))
    ]
    assert not problems, "\n".join(problems[:30])


def test_data_uses_only_declared_terms(ontology: Graph, data: Graph) -> None:
    declared = {s for s in ontology.subjects() if isinstance(s, URIRef)}
    used = {
        n for t in data for n in (t[1], t[2] if t[1] == RDF.type else None)
        if isinstance(n, URIRef) and n.startswith(str(EMK))
    }  # fmt: skip
    used |= {o for o in data.objects() if isinstance(o, URIRef) and o.startswith(str(EMK))}
    assert not sorted(used - declared), f"undeclared emk: terms: {sorted(used - declared)}"


def test_data_uses_only_known_concepts(sources: LoadedSources, data: Graph) -> None:
    vocabularies = next(
        sources.graph(f) for f in sources.files if f.relpath == "ontology/vocabularies.ttl"
    )
    known = set(vocabularies.subjects(RDF.type, SKOS.Concept)) | set(
        vocabularies.subjects(RDF.type, SKOS.ConceptScheme)
    )
    used = {n for t in data for n in t if isinstance(n, URIRef) and n.startswith(str(CONCEPT))}
    assert not sorted(used - known), (
        f"concepts missing from vocabularies.ttl: {sorted(used - known)}"
    )


@pytest.mark.slow
def test_hermit_finds_the_ontology_consistent(ontology: Graph, data: Graph, tmp_path: Path) -> None:
    """OWL DL check with HermiT; the data's class assertions are included (they stay fast).

    xsd:date and the other Gregorian types are not in the OWL 2 datatype map, so HermiT refuses
    them; they are read as rdfs:Literal here, which can only weaken (never hide) a clash.
    """
    graph = Graph()
    for s, p, o in ontology:
        if p != OWL.imports:  # every module is already in the union: no fetching
            graph.add((s, p, NOT_OWL2_DATATYPES.get(o, o)))
    classes = set(ontology.subjects(RDF.type, OWL.Class))
    for s, c in data.subject_objects(RDF.type):
        if c in classes and isinstance(s, URIRef):
            graph.add((s, RDF.type, c))
            graph.add((s, RDF.type, OWL.NamedIndividual))
    path = tmp_path / "emk.owl"
    graph.serialize(path, format="xml")
    world = owlready2.World()
    world.get_ontology(path.as_uri()).load()
    start = time.perf_counter()
    try:
        owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    except owlready2.OwlReadyInconsistentOntologyError as exc:
        pytest.fail(
            f"HermiT: the ontology (with the data's class assertions) is inconsistent: {exc}"
        )
    unsatisfiable = [c.iri for c in world.inconsistent_classes() if c is not owlready2.Nothing]
    assert not unsatisfiable, f"unsatisfiable classes: {unsatisfiable}"
    assert time.perf_counter() - start < 120
