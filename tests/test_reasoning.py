"""Reasoning: what OWL RL adds is kept apart, counted, stripped of noise; rules == owlrl."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg_helpers import REPO
from migration_kg.build.loading import SourceKind, load_sources
from migration_kg.build.reasoning import ReasoningResult, infer, is_noise
from migration_kg.core.errors import ConfigError, ReasoningError
from migration_kg.core.options import Reasoner
from migration_kg.core.settings import Settings

TBOX_ABOX = """\
@prefix ex: <https://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Meeting a owl:Class ; rdfs:subClassOf ex:Event .
ex:Event a owl:Class .
ex:organiser a owl:ObjectProperty ; rdfs:range ex:Actor .
ex:Actor a owl:Class .
ex:m1 a ex:Meeting ; ex:organiser ex:frontex ; rdfs:label "m1"@en .
"""
EX = "https://example.org/"


@pytest.fixture(scope="module")
def asserted() -> Graph:
    return Graph().parse(data=TBOX_ABOX, format="turtle")


def test_entailments_are_added_and_counted(asserted: Graph) -> None:
    result = infer(asserted)
    inferred = result.inferred
    assert (URIRef(EX + "m1"), RDF.type, URIRef(EX + "Event")) in inferred
    assert (URIRef(EX + "frontex"), RDF.type, URIRef(EX + "Actor")) in inferred
    assert result.added == {str(RDF.type): 2}
    assert result.total == 2
    assert result.dropped > 0


def test_inferred_never_repeats_asserted(asserted: Graph) -> None:
    inferred = infer(asserted).inferred
    assert not set(inferred) & set(asserted)


def test_noise_is_dropped(asserted: Graph) -> None:
    for triple in infer(asserted).inferred:
        assert not is_noise(triple)
        s, _, o = triple
        assert not isinstance(s, Literal)
        assert o not in (OWL.Thing, RDFS.Resource)


@pytest.mark.parametrize(
    ("triple", "noise"),
    [
        ((Literal("x"), RDF.type, RDFS.Literal), True),
        ((URIRef(EX + "a"), OWL.sameAs, URIRef(EX + "a")), True),
        ((URIRef(EX + "a"), OWL.sameAs, URIRef(EX + "b")), False),
        ((URIRef(EX + "C"), RDFS.subClassOf, URIRef(EX + "C")), True),
        ((OWL.Thing, RDFS.subClassOf, OWL.Thing), True),
        ((URIRef(EX + "a"), RDF.type, OWL.Thing), True),
        ((URIRef(EX + "C"), RDFS.subClassOf, OWL.Thing), True),
        ((URIRef(EX + "a"), RDF.type, URIRef(EX + "C")), False),
    ],
)
def test_noise_rules(triple: tuple[object, object, object], noise: bool) -> None:
    assert is_noise(triple) is noise


def test_unknown_reasoner_is_a_config_error(asserted: Graph) -> None:
    with pytest.raises(ConfigError, match="EMK_REASONER='hermit': use one of rules, owlrl"):
        Settings.from_env({"EMK_REASONER": "hermit"})
    with pytest.raises(ConfigError, match="unknown reasoner 'hermit'"):
        infer(asserted, reasoner="hermit")  # type: ignore[arg-type]  # a library caller's typo


# --- the rules engine against owlrl ---------------------------------------------------------

PREFIXES = """\
@prefix ex: <https://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
# One small graph per rule family: each is reasoned over by both engines and must come out equal.
RULE_FAMILIES = {
    "subclass and equivalent class": """
        ex:A rdfs:subClassOf ex:B . ex:B rdfs:subClassOf ex:C . ex:C owl:equivalentClass ex:D .
        ex:A a owl:Class . ex:D rdfs:subClassOf ex:A .
        ex:a a ex:A . ex:d a ex:D . ex:n a owl:Nothing .""",
    "domain and range through the hierarchies": """
        ex:Meeting a owl:Class ; rdfs:subClassOf ex:Event .
        ex:chairs rdfs:subPropertyOf ex:attends . ex:attends a owl:ObjectProperty ;
            rdfs:domain ex:Person ; rdfs:range ex:Meeting .
        ex:amount a owl:DatatypeProperty ; rdfs:range xsd:decimal .
        ex:ann ex:chairs ex:m1 ; ex:amount "12"^^xsd:integer , "1.5"^^xsd:decimal .""",
    "subproperty and equivalent property": """
        ex:p rdfs:subPropertyOf ex:q . ex:q rdfs:subPropertyOf ex:r .
        ex:r owl:equivalentProperty ex:s . ex:s rdfs:subPropertyOf ex:p .
        ex:p a owl:ObjectProperty .
        ex:a ex:p ex:b . ex:c ex:s ex:d .""",
    "inverse": """
        ex:hasPart owl:inverseOf ex:partOf . ex:a ex:hasPart ex:b . ex:c ex:partOf ex:d .""",
    "symmetric": """
        ex:borders a owl:SymmetricProperty . ex:a ex:borders ex:b . ex:b ex:borders ex:c .""",
    "transitive": """
        ex:within a owl:TransitiveProperty . ex:a ex:within ex:b . ex:b ex:within ex:c .
        ex:c ex:within ex:d . ex:d ex:within ex:a . ex:x ex:within ex:a .""",
    "property chain": """
        ex:uncle owl:propertyChainAxiom ( ex:parent ex:brother ) .
        ex:greatUncle owl:propertyChainAxiom ( ex:parent ex:parent ex:brother ) .
        ex:a ex:parent ex:b . ex:b ex:parent ex:c . ex:b ex:brother ex:d . ex:c ex:brother ex:e .
        ex:c ex:brother ex:f . ex:twin rdfs:subPropertyOf ex:brother . ex:b ex:twin ex:g .""",
    "hasValue": """
        ex:FrontexEvent owl:equivalentClass [ a owl:Restriction ;
            owl:onProperty ex:organiser ; owl:hasValue ex:frontex ] .
        ex:e1 ex:organiser ex:frontex . ex:e2 a ex:FrontexEvent .""",
    "someValuesFrom": """
        ex:Funded owl:equivalentClass [ owl:onProperty ex:fundedBy ; owl:someValuesFrom ex:Fund ] .
        ex:Linked owl:equivalentClass [ owl:onProperty ex:link ; owl:someValuesFrom owl:Thing ] .
        ex:Sized owl:equivalentClass [ owl:onProperty ex:size ; owl:someValuesFrom xsd:decimal ] .
        ex:TrustFund rdfs:subClassOf ex:Fund .
        ex:a ex:fundedBy ex:f . ex:f a ex:TrustFund . ex:b ex:fundedBy ex:g . ex:c ex:link ex:d .
        ex:e ex:size "3"^^xsd:integer .""",
    "allValuesFrom": """
        ex:Team rdfs:subClassOf [ owl:onProperty ex:member ; owl:allValuesFrom ex:Person ] .
        ex:t a ex:Team ; ex:member ex:a , ex:b .""",
    "intersection and union": """
        ex:EuAgency owl:intersectionOf ( ex:Agency ex:EuBody ) .
        ex:Actor owl:unionOf ( ex:Person ex:Organisation ) .
        ex:a a ex:Agency , ex:EuBody . ex:b a ex:EuAgency . ex:c a ex:Person .""",
    "oneOf": """
        ex:Sea owl:oneOf ( ex:mediterranean ex:aegean ) . ex:Sea rdfs:subClassOf ex:Place .""",
    "sameAs through a functional property": """
        ex:capital a owl:FunctionalProperty . ex:x ex:capital ex:tunis , ex:tunisCity .
        ex:tunis ex:population "600000"^^xsd:integer . ex:y ex:near ex:tunisCity .""",
    "sameAs through an inverse-functional property and a max cardinality": """
        ex:iso a owl:InverseFunctionalProperty . ex:tn ex:iso "TN" . ex:tunisia ex:iso "TN" .
        ex:OneCapital owl:equivalentClass [ owl:onProperty ex:seat ;
            owl:maxCardinality "1"^^xsd:nonNegativeInteger ] .
        ex:OneEuSeat owl:equivalentClass [ owl:onProperty ex:seat ; owl:onClass ex:EuCity ;
            owl:maxQualifiedCardinality "1"^^xsd:nonNegativeInteger ] .
        ex:c1 a ex:OneCapital ; ex:seat ex:s1 , ex:s2 .
        ex:c2 a ex:OneEuSeat ; ex:seat ex:s3 , ex:s4 , ex:s5 .
        ex:s3 a ex:EuCity . ex:s4 a ex:EuCity .""",
    "asserted sameAs, on individuals and on properties": """
        ex:a owl:sameAs ex:b . ex:b owl:sameAs ex:c . ex:a ex:p ex:x . ex:y ex:q ex:c .
        ex:p owl:sameAs ex:p2 . ex:p rdfs:domain ex:D .""",
    "sameAs meeting a later derivation": """
        ex:R owl:onProperty ex:p ; owl:hasValue ex:a . ex:S rdfs:subClassOf ex:R .
        ex:u a ex:S . ex:a owl:sameAs ex:b .""",
    "restrictions subsumed by their fillers and properties": """
        ex:r1 owl:onProperty ex:p ; owl:someValuesFrom ex:A . ex:r2 owl:onProperty ex:p ;
            owl:someValuesFrom ex:B . ex:A rdfs:subClassOf ex:B .
        ex:r3 owl:onProperty ex:q ; owl:hasValue ex:v .
        ex:r4 owl:onProperty ex:p ; owl:hasValue ex:v .
        ex:q rdfs:subPropertyOf ex:p .
        ex:r5 owl:onProperty ex:q ; owl:allValuesFrom ex:C . ex:r6 owl:onProperty ex:p ;
            owl:allValuesFrom ex:C . ex:p a owl:ObjectProperty .
        ex:x ex:q ex:v .""",
    "schema derived from the data": """
        ex:broader rdfs:subPropertyOf rdfs:subClassOf . ex:Visit ex:broader ex:Event .
        ex:Event rdfs:subClassOf ex:Occurrence . ex:v1 a ex:Visit .
        ex:link rdfs:subPropertyOf rdfs:subPropertyOf . ex:hosts ex:link ex:involves .
        ex:involves rdfs:domain ex:Event . ex:x ex:hosts ex:y .""",
    "inconsistent data is not an error": """
        ex:Person owl:disjointWith ex:Organisation . ex:x a ex:Person , ex:Organisation .
        ex:Person rdfs:subClassOf ex:Agent .""",
}


def _assert_same_inferred(expected: Graph, actual: Graph, what: str) -> None:
    """Fail with a few of the triples only one engine inferred."""
    missing, extra = set(expected) - set(actual), set(actual) - set(expected)
    if not (missing or extra):
        return
    lines = [f"{what}: rules differs from owlrl ({len(missing)} missing, {len(extra)} extra)"]
    lines += [f"- {s.n3()} {p.n3()} {o.n3()}" for s, p, o in sorted(missing)[:10]]
    lines += [f"+ {s.n3()} {p.n3()} {o.n3()}" for s, p, o in sorted(extra)[:10]]
    pytest.fail("\n".join(lines))


@pytest.fixture(scope="module")
def repository_graph() -> Graph:
    """Ontology + data + links, as the build hands them to the reasoner."""
    sources = load_sources(Settings(root=REPO))
    return sources.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)


@pytest.fixture(scope="module")
def owlrl_on_repository(repository_graph: Graph) -> ReasoningResult:
    return infer(repository_graph, Reasoner.OWLRL)  # ~4 s: once per module


def test_rules_equals_owlrl_on_the_repository(
    repository_graph: Graph, owlrl_on_repository: ReasoningResult
) -> None:
    rules = infer(repository_graph, Reasoner.RULES)
    _assert_same_inferred(owlrl_on_repository.inferred, rules.inferred, "the repository")
    assert rules.added == owlrl_on_repository.added
    assert rules.inconsistencies == owlrl_on_repository.inconsistencies == ()


@pytest.mark.parametrize("turtle", RULE_FAMILIES.values(), ids=RULE_FAMILIES.keys())
def test_rules_equals_owlrl_per_rule_family(turtle: str) -> None:
    asserted = Graph().parse(data=PREFIXES + turtle, format="turtle")
    expected, actual = infer(asserted, Reasoner.OWLRL), infer(asserted, Reasoner.RULES)
    _assert_same_inferred(expected.inferred, actual.inferred, "rule family")
    assert len(actual.inferred) > 0
    assert bool(actual.inconsistencies) == bool(expected.inconsistencies)


def test_rules_is_the_default() -> None:
    assert Settings().reasoner is Reasoner.RULES
    assert Settings.from_env({"EMK_REASONER": "owlrl"}).reasoner is Reasoner.OWLRL


def test_inconsistencies_are_reported_not_published() -> None:
    asserted = Graph().parse(data=PREFIXES + RULE_FAMILIES["inconsistent data is not an error"])
    for reasoner in Reasoner:
        result = infer(asserted, reasoner)
        assert any("ex" in m or "example.org" in m for m in result.inconsistencies), reasoner
        assert not any(isinstance(s, BNode) for s in result.inferred.subjects()), reasoner


def test_has_key_compares_every_key_property() -> None:
    """prp-key as the profile states it (owlrl 7.6 skips the last key property)."""
    asserted = Graph().parse(
        data=PREFIXES
        + """
        ex:Country owl:hasKey ( ex:iso ex:name ) .
        ex:a a ex:Country ; ex:iso "TN" ; ex:name "Tunisia" .
        ex:b a ex:Country ; ex:iso "TN" ; ex:name "Tunisia" .
        ex:c a ex:Country ; ex:iso "TN" ; ex:name "Tunesien" .
        ex:d ex:iso "TN" ; ex:name "Tunisia" .""",
        format="turtle",
    )
    same = {(s, o) for s, o in infer(asserted, Reasoner.RULES).inferred.subject_objects(OWL.sameAs)}
    a, b = URIRef(EX + "a"), URIRef(EX + "b")
    assert same == {(a, b), (b, a)}


@pytest.mark.parametrize(
    ("turtle", "named"),
    [
        ("ex:C rdfs:subClassOf [ owl:onProperty ex:p ; owl:minCardinality 1 ] .", "minCardinality"),
        ("ex:p a owl:ReflexiveProperty .", "ReflexiveProperty"),
        ("ex:U owl:disjointUnionOf ( ex:A ex:B ) .", "disjointUnionOf"),
        ("ex:C rdfs:subClassOf [ owl:onProperty ex:p ; owl:maxCardinality 2 ] .", "maxCardinality"),
        ("owl:sameAs rdfs:domain ex:Thing .", "owl:sameAs"),
        ("ex:p owl:inverseOf owl:sameAs .", "owl:sameAs"),
    ],
)
def test_unsupported_constructs_are_named(turtle: str, named: str) -> None:
    asserted = Graph().parse(data=PREFIXES + turtle + " ex:x ex:p ex:y .", format="turtle")
    with pytest.raises(ReasoningError, match=named):
        infer(asserted, Reasoner.RULES)
    infer(asserted, Reasoner.OWLRL)  # the reference engine ignores them
