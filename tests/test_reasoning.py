"""Reasoning: what OWL RL adds is kept apart, counted, and stripped of bookkeeping noise."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from migration_kg.errors import ConfigError
from migration_kg.reasoning import infer, is_noise

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
    with pytest.raises(ConfigError, match="unknown reasoner"):
        infer(asserted, reasoner="hermit")
