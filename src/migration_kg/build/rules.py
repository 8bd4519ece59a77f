"""The ``rules`` reasoner: owlrl's OWL 2 RL entailments, compiled into lookups and run semi-naively.

Why a second engine: owlrl (still the reference, ``--reasoner owlrl``) re-applies every rule to
every triple of the graph in each cycle and looks every premise up in an rdflib store: 4 s for
the repository's 9k triples, ~40 s at 100k, no end in sight at 1M. This engine derives the same
triples (the tests compare the two on the repository and on a graph per rule family) in a
fraction of that, because:

* terms are interned as integers (literals negative, so "never a literal predicate" is ``p < 0``)
  and triples are held in per-predicate indexes ``spo[p][s] -> {o}``; the reverse ``o -> {s}``
  is built only for the predicates a rule has to follow backwards;
* the schema is closed first (the scm-* rules, over the few schema triples), then compiled into a
  *profile* per predicate and per class: which domains, ranges, super-properties, restrictions…
  a triple with that predicate, or a type with that class, sets off;
* every triple is then processed once (semi-naive, one triple at a time): its profile's rules are
  joined with what is already stored, and what they derive is queued and processed in turn.

A derived triple that changes the schema (a sub-property of rdfs:subClassOf, owl:sameAs between
classes…) marks the pass; the schema is closed again and every triple processed again with the
new profiles, until a pass leaves the schema as it found it. Nothing depends on processing order.

Rules (OWL 2 RL profile, section 4.3, as owlrl 7.6 implements them): eq-sym, eq-trans,
eq-rep-s/p/o; prp-dom, prp-rng, prp-fp, prp-ifp, prp-symp, prp-trp, prp-spo1, prp-spo2,
prp-eqp1/2, prp-inv1/2, prp-key; cls-thing, cls-nothing1, cls-int1/2, cls-uni, cls-svf1/2,
cls-avf, cls-hv1/2, cls-maxc2, cls-maxqc3/4, cls-oo; cax-sco, cax-eqc1/2; every scm-* rule;
prp-ap and owlrl's one-time datatype rules (dt-type1/2, XSD subsumption, disjointness of used
datatypes). Inconsistencies (eq-diff1-3, prp-irp, prp-asyp, prp-pdw, prp-adp, prp-npa1/2,
cls-nothing2, cls-com, cls-maxc1, cls-maxqc1/2, cax-dw, cax-adc, dt-not-type) are reported as
messages; like owlrl, the engine does not stop at them.

Where it differs from owlrl 7.6 on purpose (none of it occurs in the repository's graph):

* no eq-ref: owlrl states ``x owl:sameAs x`` for every term, literals included, all of which
  ``is_noise`` drops. So that leaving it out cannot change anything else, a schema that uses
  owl:sameAs as a property (a domain or a restriction on it, a sub-property of it…) is refused;
* prp-key as the profile states it: owlrl compares only the first n-1 key properties, so with a
  one-property key it makes every two instances of the class the same;
* owlrl's one-time datatype rule types a resource ``rdfs:Datatype`` when it is owl:sameAs a
  resource explicitly typed with an XSD datatype; that mistake is not copied;
* inconsistencies are returned as messages rather than added as ``err:ErrorMessage`` nodes;
* OWL constructs outside the rules both engines implement (owl:minCardinality, owl:hasSelf,
  owl:disjointUnionOf…, and max cardinalities other than 0 and 1) raise :class:`ReasoningError`
  where owlrl silently derives nothing from them.

Both engines keep triples with literal subjects while reasoning and drop triples with a blank
node as predicate at the end (owlrl's post-processing); ``is_noise`` then drops the former.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass
from itertools import chain

from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
from owlrl.DatatypeHandling import AltXSDToPYTHON
from owlrl.OWLRL import OWLRL_Annotation_properties
from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes
from rdflib import BNode, Graph, Literal, Node, URIRef
from rdflib.namespace import OWL, RDF, RDFS, DefinedNamespaceMeta, Namespace

from migration_kg.core.errors import ReasoningError

log = logging.getLogger(__name__)

Triple = tuple[int, int, int]
TermTriple = tuple[Node, Node, Node]


# Every term a rule mentions gets a fixed id, so the rules compare plain integers.
_VOCABULARY: tuple[URIRef, ...] = (
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
_UNSUPPORTED: tuple[URIRef, ...] = (
    OWL.minCardinality, OWL.cardinality, OWL.minQualifiedCardinality, OWL.qualifiedCardinality,
    OWL.hasSelf, OWL.disjointUnionOf, OWL.onDataRange, OWL.onDatatype, OWL.withRestrictions,
    OWL.datatypeComplementOf, OWL.onProperties, OWL.ReflexiveProperty,
)  # fmt: skip
_FIXED = _VOCABULARY + _UNSUPPORTED + tuple(URIRef(str(dt)) for dt in OWL_RL_Datatypes)
_ID: dict[Node, int] = {term: n for n, term in enumerate(dict.fromkeys(_FIXED), start=1)}


def _ids(namespace: Namespace | DefinedNamespaceMeta, *names: str) -> tuple[int, ...]:
    return tuple(_ID[namespace[name]] for name in names)


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
_UNSUPPORTED_IDS = frozenset(_ID[t] for t in _UNSUPPORTED)
_DECLARED_PROPERTY = frozenset({OBJECT_PROPERTY, DATATYPE_PROPERTY, RDF_PROPERTY})
_CHARACTERISTICS = frozenset({FUNCTIONAL, INVERSE_FUNCTIONAL, SYMMETRIC, TRANSITIVE})
_RL_DATATYPES = frozenset(_ID[URIRef(str(dt))] for dt in OWL_RL_Datatypes)
# The triples the scm-* rules and the profiles read: adding one changes the compiled schema.
_SCHEMA_PREDICATES = frozenset(
    {SCO, SPO, DOMAIN, RANGE, EQC, EQP, INVERSE, CHAIN, HAS_KEY, ON_PROPERTY, SOME_VALUES}
    | {ALL_VALUES, HAS_VALUE, INTERSECTION, UNION, ONE_OF, MAX, MAX_QUALIFIED, ON_CLASS}
    | {FIRST, REST}
    | _UNSUPPORTED_IDS
)
_SCHEMA_TYPES = frozenset({CLASS} | _DECLARED_PROPERTY | _CHARACTERISTICS | _UNSUPPORTED_IDS)
_EMPTY: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Entailments:
    """What the rules derive beyond the input (iterate once) and the inconsistencies found."""

    triples: Iterator[TermTriple]
    inconsistencies: tuple[str, ...]


def entail(graph: Graph) -> Entailments:
    """Compute the OWL 2 RL closure of ``graph`` (left unchanged) minus ``graph`` itself.

    Raises:
        ReasoningError: the graph uses a construct this engine does not implement.
    """
    engine = _Engine()
    engine.load(graph)
    engine.run()
    return Entailments(triples=engine.entailed(), inconsistencies=engine.inconsistencies())


class _Terms:
    """Interning: IRIs and blank nodes get positive ids, literals negative ones."""

    def __init__(self) -> None:
        self.ids: dict[Node, int] = dict(_ID)
        self.nodes: list[Node] = [RDF.nil, *_ID]  # index 0 is never used
        self.literals: list[Literal] = [Literal("")]  # index 0 is never used
        self.typed_literals: list[tuple[int, int]] = []  # (literal, OWL RL datatype)

    def id(self, term: Node) -> int:
        number = self.ids.get(term)
        if number is None:
            number = self.ids[term] = self._new(term)
        return number

    def _new(self, term: Node) -> int:
        if not isinstance(term, Literal):
            self.nodes.append(term)
            return len(self.nodes) - 1
        self.literals.append(term)
        number = -(len(self.literals) - 1)
        datatype = _ID.get(term.datatype) if term.datatype is not None else None
        if datatype in _RL_DATATYPES:
            self.typed_literals.append((number, datatype))
        return number

    def term(self, number: int) -> Node:
        return self.nodes[number] if number > 0 else self.literals[-number]


class _Store:
    """The triples, by predicate: ``spo[p][s] -> {o}``, and ``pos[p][o] -> {s}`` when asked for."""

    def __init__(self) -> None:
        self.spo: dict[int, dict[int, set[int]]] = {}
        self.pos: dict[int, dict[int, set[int]]] = {}
        self.reverse_everything = False

    def insert(self, s: int, p: int, o: int) -> bool:
        """Store the triple; False if it was there already."""
        by_subject = self.spo.get(p)
        if by_subject is None:
            by_subject = self.spo[p] = {}
            if self.reverse_everything:
                self.pos[p] = {}
        objects = by_subject.get(s)
        if objects is None:
            by_subject[s] = {o}
        elif o in objects:
            return False
        else:
            objects.add(o)
        by_object = self.pos.get(p)
        if by_object is not None:
            subjects = by_object.get(o)
            if subjects is None:
                by_object[o] = {s}
            else:
                subjects.add(s)
        return True

    def has(self, s: int, p: int, o: int) -> bool:
        objects = self.spo.get(p, {}).get(s)
        return objects is not None and o in objects

    def objects(self, s: int, p: int) -> Set[int]:
        return self.spo.get(p, {}).get(s, _EMPTY)

    def subjects(self, p: int, o: int) -> Set[int]:
        return self.reverse(p).get(o, _EMPTY)

    def reverse(self, p: int) -> dict[int, set[int]]:
        """``o -> {s}`` for ``p``, built on first use and kept up to date from then on."""
        by_object = self.pos.get(p)
        if by_object is None:
            by_object = self.pos[p] = defaultdict(set)
            for s, objects in self.spo.get(p, {}).items():
                for o in objects:
                    by_object[o].add(s)
            by_object.default_factory = None
        return by_object

    def reverse_all(self) -> None:
        """Index every predicate by object (eq-rep-o needs it once an owl:sameAs appears)."""
        if not self.reverse_everything:
            self.reverse_everything = True
            for p in list(self.spo):
                self.reverse(p)


@dataclass(frozen=True, slots=True)
class _PropertyRules:
    """What a triple ``s p o`` sets off, for one ``p`` (compiled from the closed schema)."""

    domains: tuple[int, ...] = ()
    ranges: tuple[int, ...] = ()
    supers: tuple[int, ...] = ()  # prp-spo1, prp-eqp
    inverses: tuple[int, ...] = ()
    symmetric: bool = False
    transitive: bool = False
    functional: bool = False
    inverse_functional: bool = False
    chains: tuple[tuple[int, tuple[int, ...], int], ...] = ()  # (property, chain, position)
    keys: tuple[tuple[int, tuple[int, ...]], ...] = ()  # (class, key properties)
    has_value: tuple[tuple[int, int], ...] = ()  # (restriction, value)
    some_values: tuple[tuple[int, int], ...] = ()  # (restriction, filler)
    all_values: tuple[tuple[int, int], ...] = ()  # (restriction, filler)
    max_one: tuple[tuple[int, int], ...] = ()  # (restriction, qualifying class or owl:Thing)


@dataclass(frozen=True, slots=True)
class _ClassRules:
    """What a triple ``x rdf:type c`` sets off, for one ``c`` (compiled from the closed schema)."""

    supers: tuple[int, ...] = ()  # cax-sco, cax-eqc, cls-int2, cls-uni
    intersections: tuple[tuple[int, frozenset[int]], ...] = ()  # cls-int1: (class, members)
    fillers: tuple[tuple[int, int], ...] = ()  # cls-svf1 with c as filler: (restriction, property)
    all_values: tuple[tuple[int, int], ...] = ()  # c an avf restriction: (property, filler)
    has_value: tuple[tuple[int, int], ...] = ()  # c a hasValue restriction: (property, value)
    max_one: tuple[tuple[int, int], ...] = ()  # c a max-1 restriction: (property, class)
    qualifying: tuple[tuple[int, int], ...] = ()  # c a max-1's onClass: (restriction, property)
    keys: tuple[tuple[int, ...], ...] = ()


_NO_PROPERTY_RULES = _PropertyRules()
_NO_CLASS_RULES = _ClassRules()


@dataclass
class _ListIndex:
    """The schema's rdf:List axioms, read once per pass and indexed by member."""

    chains: dict[int, list[tuple[int, tuple[int, ...], int]]]
    keys_by_property: dict[int, list[tuple[int, tuple[int, ...]]]]
    keys_by_class: dict[int, list[tuple[int, ...]]]
    intersections: dict[int, list[tuple[int, frozenset[int]]]]
    parts: dict[int, set[int]]  # class -> classes every member also belongs to
    qualifying: dict[int, list[tuple[int, int]]]


class _Engine:
    """The store, the queue of triples to process and the rules that read both."""

    def __init__(self) -> None:
        self.terms = _Terms()
        self.store = _Store()
        self.asserted: list[Triple] = []
        self.derived: list[Triple] = []  # in derivation order; also the processing queue
        self.schema_queue: list[Triple] = []
        self.schema_changed = False
        self.property_rules: dict[int, _PropertyRules] = {}
        self.class_rules: dict[int, _ClassRules] = {}
        self.lists = _ListIndex({}, {}, {}, {}, {}, {})

    # --- loading -------------------------------------------------------------------------

    def load(self, graph: Graph) -> None:
        """Intern and store the input, then add owlrl's one-time facts."""
        intern, insert = self.terms.id, self.store.insert
        explicit_datatypes: list[tuple[int, int]] = []
        for s, p, o in graph:
            triple = (intern(s), intern(p), intern(o))
            if triple[1] < 0 or not insert(*triple):
                continue
            self.asserted.append(triple)
            if _is_schema(*triple):
                self.schema_queue.append(triple)
            if triple[1] == TYPE and triple[2] in _RL_DATATYPES:
                explicit_datatypes.append((triple[0], triple[2]))
        self._one_time_facts(explicit_datatypes)

    def _one_time_facts(self, explicit_datatypes: list[tuple[int, int]]) -> None:
        """cls-thing, cls-nothing1, prp-ap and owlrl's datatype rules, as owlrl adds them."""
        self.add(THING, TYPE, CLASS)
        self.add(NOTHING, TYPE, CLASS)
        for annotation in OWLRL_Annotation_properties:
            self.add(self.terms.id(annotation), TYPE, ANNOTATION_PROPERTY)
        used = set()
        for resource, datatype in chain(self.terms.typed_literals, explicit_datatypes):
            self.add(resource, TYPE, datatype)
            used.add(datatype)
            for wider in OWL_Datatype_Subsumptions.get(self.terms.term(datatype), ()):
                self.add(resource, TYPE, _ID[wider])
                self.add(_ID[wider], TYPE, DATATYPE)
                used.add(_ID[wider])
        for datatype in sorted(_RL_DATATYPES):
            self.add(datatype, TYPE, DATATYPE)
        for left, _, right in OWLRL_Datatypes_Disjointness:
            if _ID[left] in used and _ID[right] in used:
                self.add(_ID[left], DISJOINT, _ID[right])

    # --- the fixpoint ----------------------------------------------------------------------

    def add(self, s: int, p: int, o: int) -> None:
        """Derive a triple: store it and queue it (a literal predicate is never stored)."""
        if p < 0 or not self.store.insert(s, p, o):
            return
        triple = (s, p, o)
        self.derived.append(triple)
        if _is_schema(s, p, o):
            self.schema_queue.append(triple)
            self.schema_changed = True

    def run(self) -> None:
        """Close the schema, then process every triple; again while a pass changed the schema."""
        while True:
            self._close_schema()
            self._refuse_same_as_as_property()
            self.property_rules.clear()
            self.class_rules.clear()
            self.lists = self._index_lists()
            self.schema_changed = False
            for triple in self.asserted:
                self._fire(*triple)
            position = 0
            while position < len(self.derived):
                self._fire(*self.derived[position])
                position += 1
            if not self.schema_changed:
                return
            log.info("a derived triple changed the schema: closing it again")

    def _fire(self, s: int, p: int, o: int) -> None:
        """Apply every rule one of whose premises is ``s p o``."""
        rules = self.property_rules.get(p)
        if rules is None:
            rules = self.property_rules[p] = self._compile_property(p)
        if rules is not _NO_PROPERTY_RULES:
            self._property_axioms(rules, s, p, o)
            self._property_restrictions(rules, s, p, o)
        if p == TYPE:
            class_rules = self.class_rules.get(o)
            if class_rules is None:
                class_rules = self.class_rules[o] = self._compile_class(o)
            if class_rules is not _NO_CLASS_RULES:
                self._class_axioms(class_rules, s, o)
        equals = self.store.spo.get(SAME)
        if equals:
            self._replace_equals(equals, s, p, o)
            if p == SAME and s != o:
                self._equality(s, o)

    # --- rules set off by a triple s p o -----------------------------------------------------

    def _property_axioms(self, rules: _PropertyRules, s: int, p: int, o: int) -> None:
        """prp-dom, -rng, -spo1, -eqp, -inv, -symp, -trp, -fp, -ifp and -spo2 for ``s p o``."""
        add = self.add
        for c in rules.domains:
            add(s, TYPE, c)
        for c in rules.ranges:
            add(o, TYPE, c)
        for q in rules.supers:
            add(s, q, o)
        for q in rules.inverses:
            add(o, q, s)
        if rules.symmetric:
            add(o, p, s)
        if rules.transitive:
            for z in tuple(self.store.objects(o, p)):
                add(s, p, z)
            for w in tuple(self.store.subjects(p, s)):
                add(w, p, o)
        if rules.functional:
            self._all_same(o, self.store.objects(s, p))
        if rules.inverse_functional:
            self._all_same(s, self.store.subjects(p, o))
        for target, links, position in rules.chains:
            self._chain(target, links, position, s, o)

    def _property_restrictions(self, rules: _PropertyRules, s: int, p: int, o: int) -> None:
        """cls-hv2, cls-svf1/2, cls-avf, cls-maxc2, cls-maxqc3/4 and prp-key, for s p o."""
        has, add = self.store.has, self.add
        for restriction, value in rules.has_value:
            if o == value:
                add(s, TYPE, restriction)
        for restriction, filler in rules.some_values:
            if filler == THING or has(o, TYPE, filler):
                add(s, TYPE, restriction)
        for restriction, filler in rules.all_values:
            if has(s, TYPE, restriction):
                add(o, TYPE, filler)
        for restriction, qualifier in rules.max_one:
            if has(s, TYPE, restriction):
                self._one_value(s, p, o, qualifier)
        for cls, key in rules.keys:
            if has(s, TYPE, cls):
                self._key(s, cls, key)

    def _class_axioms(self, rules: _ClassRules, x: int, c: int) -> None:
        """cax-sco/eqc, cls-int1/2, -uni, -svf1, -avf, -hv1, -maxc2, -maxqc3/4, prp-key: x a c."""
        store, add = self.store, self.add
        for d in rules.supers:
            add(x, TYPE, d)
        for cls, members in rules.intersections:
            if members <= store.objects(x, TYPE):
                add(x, TYPE, cls)
        for restriction, p in rules.fillers:
            for u in tuple(store.subjects(p, x)):
                add(u, TYPE, restriction)
        for p, filler in rules.all_values:
            for v in tuple(store.objects(x, p)):
                add(v, TYPE, filler)
        for p, value in rules.has_value:
            add(x, p, value)
        for p, qualifier in rules.max_one:
            for y in tuple(store.objects(x, p)):
                self._one_value(x, p, y, qualifier)
        for restriction, p in rules.qualifying:
            for u in tuple(store.subjects(p, x)):
                if store.has(u, TYPE, restriction):
                    self._one_value(u, p, x, c)
        for key in rules.keys:
            self._key(x, c, key)

    def _one_value(self, u: int, p: int, y: int, qualifier: int) -> None:
        """cls-maxc2 / cls-maxqc3-4: u has at most one (qualifying) p value, and y is one."""
        has = self.store.has
        if qualifier != THING and not has(y, TYPE, qualifier):
            return
        others = self.store.objects(u, p)
        if qualifier != THING:
            others = {z for z in others if has(z, TYPE, qualifier)}
        self._all_same(y, others)

    def _all_same(self, y: int, others: Set[int]) -> None:
        for z in tuple(others):
            if z != y:
                self.add(y, SAME, z)
                self.add(z, SAME, y)

    def _chain(self, target: int, links: tuple[int, ...], position: int, s: int, o: int) -> None:
        """prp-spo2: extend ``s links[position] o`` to a whole chain, both ways."""
        store = self.store
        starts: Set[int] = {s}
        for link in reversed(links[:position]):
            starts = {u for x in starts for u in store.subjects(link, x)}
        ends: Set[int] = {o}
        for link in links[position + 1 :]:
            ends = {v for y in ends for v in store.objects(y, link)}
        for u in starts:
            for v in ends:
                self.add(u, target, v)

    def _key(self, x: int, cls: int, key: tuple[int, ...]) -> None:
        """prp-key: two instances of ``cls`` sharing a value for every key property are the same."""
        store = self.store
        first, rest = key[0], key[1:]
        for z in tuple(store.objects(x, first)):
            for y in tuple(store.subjects(first, z)):
                if y == x or not store.has(y, TYPE, cls):
                    continue
                if all(not store.objects(x, q).isdisjoint(store.objects(y, q)) for q in rest):
                    self.add(x, SAME, y)
                    self.add(y, SAME, x)

    def _replace_equals(self, equals: dict[int, set[int]], s: int, p: int, o: int) -> None:
        """eq-rep-s/p/o for a new triple: copy it onto everything its terms are the same as."""
        for other in tuple(equals.get(s, ())):
            self.add(other, p, o)
        for other in tuple(equals.get(p, ())):
            self.add(s, other, o)
        for other in tuple(equals.get(o, ())):
            self.add(s, p, other)

    def _equality(self, x: int, y: int) -> None:
        """eq-sym, eq-trans, eq-rep-s/p/o for a new ``x owl:sameAs y``: y gets all x's triples."""
        store, add = self.store, self.add
        store.reverse_all()
        add(y, SAME, x)
        for z in tuple(store.objects(y, SAME)):
            add(x, SAME, z)
        for p, by_subject in list(store.spo.items()):
            for o in tuple(by_subject.get(x, ())):
                add(y, p, o)
            for s in tuple(store.pos[p].get(x, ())):
                add(s, p, y)
        for s, objects in list(store.spo.get(x, {}).items()):
            for o in tuple(objects):
                add(s, y, o)

    # --- the schema: scm-* rules -------------------------------------------------------------

    def _close_schema(self) -> None:
        """Apply the scm-* rules (and cls-oo) until the schema triples stop changing."""
        while True:
            while self.schema_queue:
                self._schema_rules(*self.schema_queue.pop())
            self._restriction_rules()
            if not self.schema_queue:
                return

    def _schema_rules(self, s: int, p: int, o: int) -> None:
        add = self.add
        if p == TYPE:
            self._declaration(s, o)
        elif p == SCO:
            self._subclass(s, o)
        elif p == SPO and s != o:
            self._subproperty(s, o)
        elif p in (EQC, EQP) and s != o:  # scm-eqc1, scm-eqp1
            narrower = SCO if p == EQC else SPO
            add(s, narrower, o)
            add(o, narrower, s)
        elif p in (DOMAIN, RANGE):  # scm-dom1/2, scm-rng1/2
            for c in tuple(self.store.objects(o, SCO)):
                if c != o:
                    add(s, p, c)
            for q in tuple(self.store.subjects(SPO, s)):
                if q != s:
                    add(q, p, o)
        elif p in (MAX, MAX_QUALIFIED):
            self._cardinality(s, p, o)
        elif p in _UNSUPPORTED_IDS:
            raise self._unsupported(p, s)

    def _declaration(self, s: int, o: int) -> None:
        """scm-cls, scm-op, scm-dp (owlrl also counts rdf:Property)."""
        if o == CLASS:
            self.add(s, SCO, s)
            self.add(s, EQC, s)
            self.add(s, SCO, THING)
            self.add(NOTHING, SCO, s)
        elif o in _DECLARED_PROPERTY:
            self.add(s, SPO, s)
            self.add(s, EQP, s)
        elif o in _UNSUPPORTED_IDS:
            raise self._unsupported(o, s)

    def _subclass(self, c1: int, c2: int) -> None:
        """scm-sco (both premises), scm-eqc2, scm-dom1 and scm-rng1 for ``c1 ⊑ c2``."""
        store, add = self.store, self.add
        if c1 != c2:
            for c3 in tuple(store.objects(c2, SCO)):
                if c3 != c1:
                    add(c1, SCO, c3)
            for relation in (DOMAIN, RANGE):
                for p in tuple(store.subjects(relation, c1)):
                    add(p, relation, c2)
        for c0 in tuple(store.subjects(SCO, c1)):
            if c0 not in (c1, c2):
                add(c0, SCO, c2)
        if store.has(c2, SCO, c1):
            add(c1, EQC, c2)
            add(c2, EQC, c1)

    def _subproperty(self, p1: int, p2: int) -> None:
        """scm-spo (both premises), scm-eqp2, scm-dom2 and scm-rng2 for ``p1 ⊑ p2``, p1 ≠ p2."""
        store, add = self.store, self.add
        for p3 in tuple(store.objects(p2, SPO)):
            if p3 != p1:
                add(p1, SPO, p3)
        for p0 in tuple(store.subjects(SPO, p1)):
            if p0 not in (p1, p2):
                add(p0, SPO, p2)
        if store.has(p2, SPO, p1):
            add(p1, EQP, p2)
            add(p2, EQP, p1)
        for relation in (DOMAIN, RANGE):
            for c in tuple(store.objects(p2, relation)):
                add(p1, relation, c)

    def _restriction_rules(self) -> None:
        """scm-hv, scm-svf1/2, scm-avf1/2, scm-int, scm-uni and cls-oo, evaluated in full."""
        store = self.store
        for kind in (SOME_VALUES, ALL_VALUES):  # scm-svf1, scm-avf1: same property
            for restrictions in list(store.reverse(ON_PROPERTY).values()):
                self._nested_restrictions(restrictions, kind, SCO, forward=True)
        for kind, forward in ((HAS_VALUE, True), (SOME_VALUES, True), (ALL_VALUES, False)):
            for restrictions in list(store.reverse(kind).values()):  # same value or filler
                self._nested_restrictions(restrictions, ON_PROPERTY, SPO, forward=forward)
        for cls, heads in list(store.spo.get(INTERSECTION, {}).items()):
            for member in self._members_of(heads):
                self.add(cls, SCO, member)
        for cls, heads in list(store.spo.get(UNION, {}).items()):
            for member in self._members_of(heads):
                self.add(member, SCO, cls)
        for cls, heads in list(store.spo.get(ONE_OF, {}).items()):
            for member in self._members_of(heads):
                self.add(member, TYPE, cls)

    def _nested_restrictions(
        self, restrictions: Set[int], via: int, order: int, *, forward: bool
    ) -> None:
        """``c1 ⊑ c2`` (or ``c2 ⊑ c1``) when their ``via`` values are ordered by ``order``."""
        store = self.store
        for c1 in tuple(restrictions):
            for c2 in tuple(restrictions):
                ordered = any(
                    store.has(a, order, b)
                    for a in store.objects(c1, via)
                    for b in store.objects(c2, via)
                )
                if ordered:
                    self.add(*((c1, SCO, c2) if forward else (c2, SCO, c1)))

    def _cardinality(self, restriction: int, p: int, value: int) -> int:
        """The 0 or 1 of an owl:max(Qualified)Cardinality (cls-maxc / cls-maxqc)."""
        literal = self.terms.term(value)
        number = literal.value if isinstance(literal, Literal) else None
        if isinstance(number, bool) or number not in (0, 1):
            raise ReasoningError(
                f"{self.terms.term(restriction).n3()} {self.terms.term(p).n3()} {literal.n3()}: "
                "the rules reasoner implements only max cardinalities 0 and 1 (OWL 2 RL)"
            )
        return int(number)

    def _unsupported(self, construct: int, subject: int) -> ReasoningError:
        return ReasoningError(
            f"{self.terms.term(construct).n3()} (on {self.terms.term(subject).n3()}) is outside "
            "the OWL 2 RL rules the rules reasoner implements; owlrl ignores it silently "
            "(build with --reasoner owlrl, or remove the construct)"
        )

    def _refuse_same_as_as_property(self) -> None:
        """owlrl's eq-ref (left out here) would feed any rule reading owl:sameAs as a property."""
        store = self.store
        uses = {
            "rdfs:domain": store.objects(SAME, DOMAIN),
            "rdfs:range": store.objects(SAME, RANGE),
            "rdfs:subPropertyOf": store.objects(SAME, SPO) - {SAME},
            "owl:equivalentProperty": (store.objects(SAME, EQP) | store.subjects(EQP, SAME))
            - {SAME},
            "owl:inverseOf": store.objects(SAME, INVERSE) | store.subjects(INVERSE, SAME),
            "a property characteristic": store.objects(SAME, TYPE) & _CHARACTERISTICS,
            "owl:onProperty": store.subjects(ON_PROPERTY, SAME),
            "owl:sameAs": store.objects(SAME, SAME) - {SAME},
        }
        lists = chain(store.spo.get(CHAIN, {}).values(), store.spo.get(HAS_KEY, {}).values())
        if any(SAME in self._members_of(heads) for heads in lists):
            uses["a property chain or key"] = {SAME}
        for axiom, objects in uses.items():
            if objects:
                raise ReasoningError(
                    f"owl:sameAs is used as a property ({axiom}); the rules reasoner does not "
                    "support that (owlrl's reflexive owl:sameAs on every term would feed it)"
                )

    # --- compiling the schema into profiles ------------------------------------------------

    def _members_of(self, heads: Set[int]) -> list[int]:
        return [member for head in tuple(heads) for member in self._list(head)]

    def _list(self, head: int) -> tuple[int, ...]:
        """The members of an rdf:List, as rdflib's ``Graph.items`` reads it."""
        members: list[int] = []
        seen: set[int] = set()
        node: int | None = head
        while node is not None:
            if node in seen:
                raise ReasoningError(f"rdf:List {self.terms.term(head).n3()} is circular")
            seen.add(node)
            first = self._only(node, FIRST)
            if first is not None:
                members.append(first)
            node = self._only(node, REST)
        return tuple(members)

    def _only(self, node: int, p: int) -> int | None:
        values = self.store.objects(node, p)
        if len(values) <= 1:
            return next(iter(values), None)
        chosen = min(values)
        if all(v == chosen or self.store.has(chosen, SAME, v) for v in values):
            return chosen  # the same node under several names: any of them will do
        raise ReasoningError(
            f"rdf:List cell {self.terms.term(node).n3()} has {len(values)} "
            f"{self.terms.term(p).n3()} values"
        )

    def _index_lists(self) -> _ListIndex:
        store = self.store
        index = _ListIndex(
            defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list),
            defaultdict(set), defaultdict(list),
        )  # fmt: skip
        for target, heads in store.spo.get(CHAIN, {}).items():
            for head in heads:
                links = self._list(head)
                for position, link in enumerate(links):
                    index.chains[link].append((target, links, position))
        for cls, heads in store.spo.get(HAS_KEY, {}).items():
            for key in filter(None, (self._list(head) for head in heads)):
                index.keys_by_class[cls].append(key)
                for p in set(key):
                    index.keys_by_property[p].append((cls, key))
        self._index_class_lists(index)
        for restriction, values in store.spo.get(MAX_QUALIFIED, {}).items():
            if any(self._cardinality(restriction, MAX_QUALIFIED, v) == 1 for v in values):
                for c in store.objects(restriction, ON_CLASS):
                    for p in store.objects(restriction, ON_PROPERTY):
                        index.qualifying[c].append((restriction, p))
        return index

    def _index_class_lists(self, index: _ListIndex) -> None:
        for cls, heads in self.store.spo.get(INTERSECTION, {}).items():
            for members in filter(None, (self._list(head) for head in heads)):
                index.parts[cls].update(members)
                for member in set(members):
                    index.intersections[member].append((cls, frozenset(members)))
        for cls, heads in self.store.spo.get(UNION, {}).items():
            for member in self._members_of(heads):
                index.parts[member].add(cls)

    def _compile_property(self, p: int) -> _PropertyRules:
        store = self.store
        equivalents = store.objects(p, EQP) | store.subjects(EQP, p)
        characteristics = store.objects(p, TYPE) & _CHARACTERISTICS
        restrictions = self._restrictions_on(p)
        rules = _PropertyRules(
            domains=tuple(store.objects(p, DOMAIN)),
            ranges=tuple(store.objects(p, RANGE)),
            supers=tuple((store.objects(p, SPO) | equivalents) - {p}),
            inverses=tuple(store.objects(p, INVERSE) | store.subjects(INVERSE, p)),
            symmetric=SYMMETRIC in characteristics,
            transitive=TRANSITIVE in characteristics,
            functional=FUNCTIONAL in characteristics,
            inverse_functional=INVERSE_FUNCTIONAL in characteristics,
            chains=tuple(self.lists.chains.get(p, ())),
            keys=tuple(self.lists.keys_by_property.get(p, ())),
            has_value=restrictions["has_value"],
            some_values=restrictions["some_values"],
            all_values=restrictions["all_values"],
            max_one=restrictions["max_one"],
        )
        return _NO_PROPERTY_RULES if rules == _NO_PROPERTY_RULES else rules

    def _restrictions_on(self, p: int) -> dict[str, tuple[tuple[int, int], ...]]:
        store = self.store
        found: dict[str, list[tuple[int, int]]] = {
            name: [] for name in ("has_value", "some_values", "all_values", "max_one")
        }
        for r in store.subjects(ON_PROPERTY, p):
            found["has_value"] += [(r, v) for v in store.objects(r, HAS_VALUE)]
            found["some_values"] += [(r, y) for y in store.objects(r, SOME_VALUES)]
            found["all_values"] += [(r, y) for y in store.objects(r, ALL_VALUES)]
            found["max_one"] += [(r, q) for q in self._max_one_qualifiers(r)]
        return {name: tuple(pairs) for name, pairs in found.items()}

    def _max_one_qualifiers(self, r: int) -> list[int]:
        """owl:Thing for a max-1 cardinality restriction, its onClass for a qualified one."""
        store = self.store
        qualifiers = []
        if any(self._cardinality(r, MAX, v) == 1 for v in store.objects(r, MAX)):
            qualifiers.append(THING)
        if any(
            self._cardinality(r, MAX_QUALIFIED, v) == 1 for v in store.objects(r, MAX_QUALIFIED)
        ):
            qualifiers += store.objects(r, ON_CLASS)
        return qualifiers

    def _compile_class(self, c: int) -> _ClassRules:
        store = self.store
        properties = store.objects(c, ON_PROPERTY)
        equivalents = store.objects(c, EQC) | store.subjects(EQC, c)
        supers = store.objects(c, SCO) | equivalents | self.lists.parts.get(c, _EMPTY)
        rules = _ClassRules(
            supers=tuple(supers - {c}),
            intersections=tuple(self.lists.intersections.get(c, ())),
            fillers=tuple(
                (r, p)
                for r in store.subjects(SOME_VALUES, c)
                for p in store.objects(r, ON_PROPERTY)
            ),
            all_values=tuple((p, y) for y in store.objects(c, ALL_VALUES) for p in properties),
            has_value=tuple((p, v) for v in store.objects(c, HAS_VALUE) for p in properties),
            max_one=tuple((p, q) for q in self._max_one_qualifiers(c) for p in properties),
            qualifying=tuple(self.lists.qualifying.get(c, ())),
            keys=tuple(self.lists.keys_by_class.get(c, ())),
        )
        return _NO_CLASS_RULES if rules == _NO_CLASS_RULES else rules

    # --- results -----------------------------------------------------------------------------

    def entailed(self) -> Iterator[TermTriple]:
        """The derived triples as rdflib terms, without those with a blank-node predicate."""
        term = self.terms.term
        for s, p, o in self.derived:
            predicate = term(p)
            if not isinstance(predicate, BNode):
                yield term(s), predicate, term(o)

    def inconsistencies(self) -> tuple[str, ...]:
        """What the closure contradicts (OWL RL's false-concluding rules), as sorted messages."""
        found: set[str] = set()
        for check in (self._bad_literals, self._class_clashes, self._property_clashes):
            found.update(check())
        return tuple(sorted(found))

    def _bad_literals(self) -> Iterator[str]:
        """dt-not-type: a literal whose lexical form its datatype does not allow."""
        for number, datatype in self.terms.typed_literals:
            literal = self.terms.literals[-number]
            convert: Callable[[str], object] = AltXSDToPYTHON.get(
                self.terms.term(datatype), lambda v: v
            )
            try:
                convert(str(literal))
            except ValueError:
                yield f"dt-not-type: {literal.n3()} is not a valid value of its datatype"

    def _class_clashes(self) -> Iterator[str]:
        """cls-nothing2, cax-dw, cls-com, cax-adc, cls-maxc1, cls-maxqc1/2: one pass over types."""
        store, n3 = self.store, self._n3
        disjoint: dict[int, set[int]] = defaultdict(set)
        for p in (DISJOINT, COMPLEMENT):
            for c1, others in store.spo.get(p, {}).items():
                for c2 in others:
                    disjoint[c1].add(c2)
                    disjoint[c2].add(c1)
        for group in self._member_lists(ALL_DISJOINT_CLASSES):
            for i, c1 in enumerate(group):
                for c2 in group[i + 1 :]:
                    disjoint[c1].add(c2)
                    disjoint[c2].add(c1)
        empty = self._empty_restrictions()
        # Every class something was typed with in the last pass has a compiled profile.
        if not (disjoint or empty or NOTHING in self.class_rules):
            return
        for x, types in store.spo.get(TYPE, {}).items():
            if NOTHING in types:
                yield f"cls-nothing2: {n3(x)} is an owl:Nothing"
            for c in types:
                for d in disjoint.get(c, _EMPTY) & types:
                    if c > d:
                        continue  # each pair once
                    yield f"cax-dw: {n3(x)} is in the disjoint classes {n3(c)} and {n3(d)}"
                for p, qualifier in empty.get(c, ()):
                    if any(qualifier == THING or store.has(y, TYPE, qualifier)
                           for y in store.objects(x, p)):  # fmt: skip
                        yield f"cls-maxc1: {n3(x)} has a {n3(p)} value against {n3(c)}"

    def _empty_restrictions(self) -> dict[int, list[tuple[int, int]]]:
        """Max-0 restrictions: (property, qualifying class or owl:Thing) per restriction."""
        store = self.store
        empty: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for kind in (MAX, MAX_QUALIFIED):
            for r, values in store.spo.get(kind, {}).items():
                if any(self._cardinality(r, kind, v) == 0 for v in values):
                    qualifiers = store.objects(r, ON_CLASS) if kind == MAX_QUALIFIED else {THING}
                    for p in store.objects(r, ON_PROPERTY):
                        empty[r] += [(p, q) for q in qualifiers]
        return empty

    def _property_clashes(self) -> Iterator[str]:
        """prp-irp, prp-asyp, prp-pdw, prp-adp, prp-npa1/2, eq-diff1-3."""
        store, n3 = self.store, self._n3
        irreflexive = [p for p in store.spo if store.has(p, TYPE, IRREFLEXIVE)]
        for p in irreflexive:
            for x, objects in store.spo[p].items():
                if x in objects:
                    yield f"prp-irp: {n3(x)} {n3(p)} itself"
        for p in [p for p in store.spo if store.has(p, TYPE, ASYMMETRIC)]:
            for x, objects in store.spo[p].items():
                for y in objects:
                    if store.has(y, p, x):
                        yield f"prp-asyp: {n3(x)} and {n3(y)} {n3(p)} each other"
        pairs = [(p1, p2) for p1, ps in store.spo.get(PROPERTY_DISJOINT, {}).items() for p2 in ps]
        for group in self._member_lists(ALL_DISJOINT_PROPERTIES):
            pairs += [(p1, p2) for i, p1 in enumerate(group) for p2 in group[i + 1 :]]
        for p1, p2 in pairs:
            for x, objects in store.spo.get(p1, {}).items():
                for y in objects & store.objects(x, p2):
                    yield f"prp-pdw: {n3(x)} {n3(p1)} and {n3(p2)} {n3(y)}"
        yield from self._negative_assertions()
        yield from self._difference_clashes()

    def _negative_assertions(self) -> Iterator[str]:
        store, n3 = self.store, self._n3
        for x, sources in store.spo.get(SOURCE, {}).items():
            for i1 in sources:
                for p in store.objects(x, ASSERTION_PROPERTY):
                    targets = store.objects(x, TARGET) | store.objects(x, TARGET_VALUE)
                    for i2 in targets & store.objects(i1, p):
                        yield f"prp-npa: {n3(i1)} {n3(p)} {n3(i2)} is asserted negatively"

    def _difference_clashes(self) -> Iterator[str]:
        store, n3 = self.store, self._n3
        for x, others in store.spo.get(DIFFERENT, {}).items():
            for y in others:
                if x == y or store.has(x, SAME, y):
                    yield f"eq-diff1: {n3(x)} is both owl:sameAs and owl:differentFrom {n3(y)}"
        for group in self._member_lists(ALL_DIFFERENT, DISTINCT_MEMBERS):
            for i, z1 in enumerate(group):
                for z2 in group[i + 1 :]:
                    if z1 != z2 and store.has(z1, SAME, z2):
                        yield f"eq-diff2: {n3(z1)} and {n3(z2)} are different and the same"

    def _member_lists(self, cls: int, *extra: int) -> Iterator[tuple[int, ...]]:
        """The owl:members (or ``extra``) lists of every instance of ``cls``."""
        for p in (MEMBERS, *extra):
            for x, heads in self.store.spo.get(p, {}).items():
                if self.store.has(x, TYPE, cls):
                    yield from (self._list(head) for head in heads)

    def _n3(self, number: int) -> str:
        return str(self.terms.term(number).n3())


def _is_schema(s: int, p: int, o: int) -> bool:
    """Whether a triple is read by the scm-* rules or the compiled profiles."""
    return p in _SCHEMA_PREDICATES or (p == TYPE and o in _SCHEMA_TYPES)
