"""Declared-use shapes: one SHACL shape per ``emk:`` property, derived from the ontology.

Part of validation: :mod:`.run` adds them to those of ``shapes/*.ttl`` before pySHACL runs.
Why generated: the ontology is the one place that says what each property is for
(``rdfs:domain``/``rdfs:range`` where one class fits every use, ``schema:domainIncludes``/
``schema:rangeIncludes`` where uses span classes, one of which must fit), and a sub-property
inherits its super-properties' declarations; hand-written shapes would restate all that and
drift. Why native SHACL rather than one generic SPARQL constraint over the declarations:
pySHACL checks ``sh:class`` natively, while the same check as SPARQL took rdflib 36 s on the
repository's 9k triples.

For a property ``emk:p`` the shape ``emks:DeclaredUse-p`` targets the subjects of ``emk:p``
(``sh:class`` for each domain, ``sh:or`` of ``sh:class`` for each set of domain-includes) and its
property shape ``emks:DeclaredUse-p-value`` checks the values (``sh:class`` or ``sh:datatype``,
``sh:or`` for a set of range-includes). A deprecated property gets ``sh:maxCount 0`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from migration_kg.core.namespaces import EMK

EMKS = Namespace("https://w3id.org/eu-migration-kg/shapes#")
SCHEMA = Namespace("https://schema.org/")
DCTERMS_REPLACED_BY = URIRef("http://purl.org/dc/terms/isReplacedBy")
PREFIX = "DeclaredUse-"
# Ranges that are datatypes, checked with sh:datatype rather than sh:class.
_DATATYPE_NAMESPACES = (str(XSD),)
_DATATYPES = {RDF.langString, RDF.PlainLiteral, OWL.rational, OWL.real}


def declared_use_shapes(ontology: Graph) -> Graph:
    """The declared-use shapes of every ``emk:`` property the ontology defines."""
    shapes = Graph()
    for prop in _emk_properties(ontology):
        if (prop, OWL.deprecated, Literal(True)) in ontology:
            _add_deprecated(shapes, ontology, prop)
        else:
            _add_use(shapes, ontology, prop)
    return shapes


def is_declared_use_shape(shape: Node) -> bool:
    """Whether ``shape`` is one of the generated shapes (tests treat them as one family)."""
    return isinstance(shape, URIRef) and str(shape).startswith(str(EMKS) + PREFIX)


def _emk_properties(ontology: Graph) -> list[URIRef]:
    kinds = (OWL.ObjectProperty, OWL.DatatypeProperty)
    found = {p for k in kinds for p in ontology.subjects(RDF.type, k)}
    return sorted(p for p in found if isinstance(p, URIRef) and str(p).startswith(str(EMK)))


def _curie(term: Node) -> str:
    text = str(term)
    return "emk:" + text[len(str(EMK)) :] if text.startswith(str(EMK)) else text.rsplit("/", 1)[-1]


def _supers(ontology: Graph, prop: URIRef) -> list[URIRef]:
    """``prop`` and its super-properties, nearest first (the declarations they carry apply)."""
    return [
        p for p in ontology.transitive_objects(prop, RDFS.subPropertyOf) if isinstance(p, URIRef)
    ]


def _declared(ontology: Graph, prop: URIRef, one: URIRef, includes: URIRef) -> list[list[URIRef]]:
    """Each requirement as a list of alternatives: a single class for a domain or range, the set
    of a domain-includes or range-includes; duplicates dropped."""
    needs: list[list[URIRef]] = []
    for declaring in _supers(ontology, prop):
        classes = sorted(c for c in ontology.objects(declaring, one) if isinstance(c, URIRef))
        for cls in classes:
            if [cls] not in needs:
                needs.append([cls])
        alternatives = sorted(
            c for c in ontology.objects(declaring, includes) if isinstance(c, URIRef)
        )
        if alternatives and alternatives not in needs:
            needs.append(alternatives)
    return needs


def _is_datatype(term: URIRef) -> bool:
    return term in _DATATYPES or str(term).startswith(_DATATYPE_NAMESPACES)


def _value_test(shapes: Graph, node: Node, term: URIRef) -> None:
    if term == RDFS.Literal:
        shapes.add((node, SH.nodeKind, SH.Literal))
    elif _is_datatype(term):
        shapes.add((node, SH.datatype, term))
    else:
        shapes.add((node, SH["class"], term))


def _add_requirements(shapes: Graph, shape: Node, needs: Iterable[list[URIRef]]) -> None:
    for alternatives in needs:
        if len(alternatives) == 1:
            _value_test(shapes, shape, alternatives[0])
            continue
        members: list[Node] = []
        for term in alternatives:
            member = BNode()
            _value_test(shapes, member, term)
            members.append(member)
        head = BNode()
        Collection(shapes, head, members)
        shapes.add((shape, SH["or"], head))


def _names(needs: list[list[URIRef]]) -> str:
    return " and ".join(" or ".join(_curie(t) for t in alternatives) for alternatives in needs)


def _add_use(shapes: Graph, ontology: Graph, prop: URIRef) -> None:
    name = _curie(prop)
    local = name.removeprefix("emk:")
    domain = _declared(ontology, prop, RDFS.domain, SCHEMA.domainIncludes)
    value_range = _declared(ontology, prop, RDFS.range, SCHEMA.rangeIncludes)
    node = EMKS[PREFIX + local]
    shapes.add((node, RDF.type, SH.NodeShape))
    shapes.add((node, RDFS.label, Literal(f"declared use of {name}", lang="en")))
    shapes.add((node, SH.targetSubjectsOf, prop))
    shapes.add((node, SH.severity, SH.Violation))
    shapes.add((node, RDFS.isDefinedBy, prop))
    described = _names(domain) or "any resource"
    shapes.add(
        (
            node,
            SH.description,
            Literal(
                f"Generated from the ontology: {name} is used on {described} "
                f"(its domain and its super-properties' domains).",
                lang="en",
            ),
        )
    )
    shapes.add(
        (
            node,
            SH.message,
            Literal(
                f"{name} is declared for {described}; this resource is not one: use the "
                f"property the ontology declares for this kind of resource (see the "
                f"skos:definition of {name} and of its sub-properties).",
                lang="en",
            ),
        )
    )
    _add_requirements(shapes, node, domain)
    if not value_range:
        return
    value = EMKS[PREFIX + local + "-value"]
    shapes.add((node, SH.property, value))
    shapes.add((value, RDF.type, SH.PropertyShape))
    shapes.add((value, SH.path, prop))
    shapes.add((value, SH.name, Literal(f"value of {name}", lang="en")))
    shapes.add((value, SH.severity, SH.Violation))
    ranged = _names(value_range)
    shapes.add(
        (
            value,
            SH.description,
            Literal(f"Generated from the ontology: {name} takes {ranged}.", lang="en"),
        )
    )
    shapes.add(
        (
            value,
            SH.message,
            Literal(
                f"{name} takes {ranged}: link such a resource (or give such a literal), or "
                f"use the property the ontology declares for this value.",
                lang="en",
            ),
        )
    )
    _add_requirements(shapes, value, value_range)


def _add_deprecated(shapes: Graph, ontology: Graph, prop: URIRef) -> None:
    name = _curie(prop)
    local = name.removeprefix("emk:")
    replaced_by = sorted(str(r) for r in ontology.objects(prop, DCTERMS_REPLACED_BY))
    replacements = ", ".join(_curie(URIRef(r)) for r in replaced_by)
    node, value = EMKS[PREFIX + local], EMKS[PREFIX + local + "-value"]
    shapes.add((node, RDF.type, SH.NodeShape))
    shapes.add((node, RDFS.label, Literal(f"declared use of {name}", lang="en")))
    shapes.add((node, SH.targetSubjectsOf, prop))
    shapes.add((node, SH.severity, SH.Violation))
    shapes.add((node, RDFS.isDefinedBy, prop))
    shapes.add((node, SH.description, Literal(f"{name} is deprecated: not used.", lang="en")))
    shapes.add((node, SH.message, Literal(f"See {PREFIX}{local}-value.", lang="en")))
    shapes.add((node, SH.property, value))
    shapes.add((value, RDF.type, SH.PropertyShape))
    shapes.add((value, SH.path, prop))
    shapes.add((value, SH.name, Literal(f"deprecated {name}", lang="en")))
    shapes.add((value, SH.maxCount, Literal(0)))
    shapes.add((value, SH.severity, SH.Violation))
    shapes.add((value, SH.description, Literal(f"{name} is deprecated: not used.", lang="en")))
    shapes.add(
        (
            value,
            SH.message,
            Literal(f"{name} is deprecated: use {replacements or 'its replacement'}.", lang="en"),
        )
    )
