"""The fixed term ids of the rules engine: every term a rule mentions, and the sets rules test.

Bottom of :mod:`migration_kg.build.reasoning`. Interning gives each of these terms the same
small id in every run, so the rules compare plain integers (``p == SCO``) instead of rdflib terms.
"""

from __future__ import annotations

from owlrl.XsdDatatypes import OWL_RL_Datatypes
from rdflib import Node, URIRef
from rdflib.namespace import OWL, RDF, RDFS, DefinedNamespaceMeta, Namespace

Triple = tuple[int, int, int]
TermTriple = tuple[Node, Node, Node]

# Every term a rule mentions gets a fixed id, so the rules compare plain integers.
VOCABULARY: tuple[URIRef, ...] = (
    RDF.type, RDF.first, RDF.rest, RDF.Property,
    RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, RDFS.Datatype,
    OWL.Thing, OWL.Nothing, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty,
    OWL.AnnotationProperty, OWL.sameAs, OWL.differentFrom, OWL.equivalentClass,
    OWL.equivalentProperty, OWL.inverseOf, OWL.propertyChainAxiom, OWL.hasKey, OWL.disjointWith,
    OWL.propertyDisjointWith, OWL.complementOf, OWL.onProperty, OWL.someValuesFrom,
    OWL.allValuesFrom, OWL.hasValue, OWL.intersectionOf, OWL.unionOf, OWL.oneOf,
    OWL.maxCardinality, OWL.maxQualifiedCardinality, OWL.onClass, OWL.members,
    OWL.distinctMembers, OWL.sourceIndividual, OWL.assertionProperty, OWL.targetIndividual,
    OWL.targetValue, OWL.FunctionalProperty, OWL.InverseFunctionalProperty,
    OWL.SymmetricProperty, OWL.AsymmetricProperty, OWL.TransitiveProperty,
    OWL.IrreflexiveProperty, OWL.AllDisjointClasses, OWL.AllDisjointProperties, OWL.AllDifferent,
)  # fmt: skip
# Outside OWL 2 RL's rules: owlrl ignores them, this engine refuses to.
UNSUPPORTED: tuple[URIRef, ...] = (
    OWL.minCardinality, OWL.cardinality, OWL.minQualifiedCardinality, OWL.qualifiedCardinality,
    OWL.hasSelf, OWL.disjointUnionOf, OWL.onDataRange, OWL.onDatatype, OWL.withRestrictions,
    OWL.datatypeComplementOf, OWL.onProperties, OWL.ReflexiveProperty,
)  # fmt: skip
_FIXED = VOCABULARY + UNSUPPORTED + tuple(URIRef(str(dt)) for dt in OWL_RL_Datatypes)
FIXED_IDS: dict[Node, int] = {term: n for n, term in enumerate(dict.fromkeys(_FIXED), start=1)}


def _ids(namespace: Namespace | DefinedNamespaceMeta, *names: str) -> tuple[int, ...]:
    return tuple(FIXED_IDS[namespace[name]] for name in names)


TYPE, FIRST, REST, RDF_PROPERTY = _ids(RDF, "type", "first", "rest", "Property")
SCO, SPO, DOMAIN, RANGE, DATATYPE = _ids(
    RDFS, "subClassOf", "subPropertyOf", "domain", "range", "Datatype"
)
THING, NOTHING, CLASS, OBJECT_PROPERTY, DATATYPE_PROPERTY, ANNOTATION_PROPERTY = _ids(
    OWL, "Thing", "Nothing", "Class", "ObjectProperty", "DatatypeProperty", "AnnotationProperty"
)
SAME, DIFFERENT, EQC, EQP, INVERSE, CHAIN, HAS_KEY = _ids(
    OWL, "sameAs", "differentFrom", "equivalentClass", "equivalentProperty", "inverseOf",
    "propertyChainAxiom", "hasKey",
)  # fmt: skip
DISJOINT, PROPERTY_DISJOINT, COMPLEMENT = _ids(
    OWL, "disjointWith", "propertyDisjointWith", "complementOf"
)
ON_PROPERTY, SOME_VALUES, ALL_VALUES, HAS_VALUE, INTERSECTION, UNION, ONE_OF = _ids(
    OWL, "onProperty", "someValuesFrom", "allValuesFrom", "hasValue", "intersectionOf",
    "unionOf", "oneOf",
)  # fmt: skip
MAX, MAX_QUALIFIED, ON_CLASS, MEMBERS, DISTINCT_MEMBERS = _ids(
    OWL, "maxCardinality", "maxQualifiedCardinality", "onClass", "members", "distinctMembers"
)
SOURCE, ASSERTION_PROPERTY, TARGET, TARGET_VALUE = _ids(
    OWL, "sourceIndividual", "assertionProperty", "targetIndividual", "targetValue"
)
FUNCTIONAL, INVERSE_FUNCTIONAL, SYMMETRIC, ASYMMETRIC, TRANSITIVE, IRREFLEXIVE = _ids(
    OWL, "FunctionalProperty", "InverseFunctionalProperty", "SymmetricProperty",
    "AsymmetricProperty", "TransitiveProperty", "IrreflexiveProperty",
)  # fmt: skip
ALL_DISJOINT_CLASSES, ALL_DISJOINT_PROPERTIES, ALL_DIFFERENT = _ids(
    OWL, "AllDisjointClasses", "AllDisjointProperties", "AllDifferent"
)
UNSUPPORTED_IDS = frozenset(FIXED_IDS[t] for t in UNSUPPORTED)
DECLARED_PROPERTY = frozenset({OBJECT_PROPERTY, DATATYPE_PROPERTY, RDF_PROPERTY})
CHARACTERISTICS = frozenset({FUNCTIONAL, INVERSE_FUNCTIONAL, SYMMETRIC, TRANSITIVE})
RL_DATATYPES = frozenset(FIXED_IDS[URIRef(str(dt))] for dt in OWL_RL_Datatypes)
# The triples the scm-* rules and the profiles read: adding one changes the compiled schema.
SCHEMA_PREDICATES = frozenset(
    {SCO, SPO, DOMAIN, RANGE, EQC, EQP, INVERSE, CHAIN, HAS_KEY, ON_PROPERTY, SOME_VALUES}
    | {ALL_VALUES, HAS_VALUE, INTERSECTION, UNION, ONE_OF, MAX, MAX_QUALIFIED, ON_CLASS}
    | {FIRST, REST}
    | UNSUPPORTED_IDS
)
SCHEMA_TYPES = frozenset({CLASS} | DECLARED_PROPERTY | CHARACTERISTICS | UNSUPPORTED_IDS)
EMPTY: frozenset[int] = frozenset()


def is_schema(s: int, p: int, o: int) -> bool:
    """Whether a triple is read by the scm-* rules or the compiled profiles."""
    return p in SCHEMA_PREDICATES or (p == TYPE and o in SCHEMA_TYPES)
