"""Tests of the SHACL shapes graph (shapes/*.ttl): its own validity, its fixtures, its coverage of
the ontology and the data, and the validation of the real data.

How shapes are run here (and how the build should run them): the data graph is ontology/*.ttl +
the data + period triples derived from period IRIs, validated with pySHACL ``inference="none"``
and ``advanced=True``. The ontology goes into the data graph rather than ``ont_graph`` because
pySHACL's ``ont_graph`` mix-in copies only RDFS/OWL axioms, not the SKOS concepts that the
scheme-membership shapes look up; ``advanced=True`` enables the SHACL-AF SPARQL target of
``emks:Distinct`` (without it the duplicate check would silently select nothing).

Fixtures: ``tests/shapes/<shape>/valid-*.ttl`` must produce no result at all; ``invalid-*.ttl``
must produce exactly the results its ``# expect:`` header lines list, as
``focus=<curie> path=<curie or -> component=<curie> shape=<curie> [constraint=<curie>]``.
Each fixture is validated together with ``tests/shapes/_base.ttl`` (a conforming report frame)
and the structural part of the ontology (types, subclasses, scheme membership), which keeps the
~380 small validations fast; the real data is validated with the whole ontology, as the build does.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

import pyshacl
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

from migration_kg.build.periods import PERIOD_BASE, PeriodSlugError, parse_period

ROOT = Path(__file__).resolve().parent.parent
SHAPES_DIR = ROOT / "shapes"
FIXTURES_DIR = ROOT / "tests" / "shapes"
BASE_FIXTURE = FIXTURES_DIR / "_base.ttl"
EMK = Namespace("https://w3id.org/eu-migration-kg/ontology#")
EMKS = Namespace("https://w3id.org/eu-migration-kg/shapes#")
GRANULARITY = "https://w3id.org/eu-migration-kg/id/concept/granularity/"
# Spelled out: pytest probes module attributes, and rdflib warns when XSD is probed.
XSD_DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")
SHACL_SHACL = Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl"

# Constraint parameter -> the constraint component a violation of it reports.
COMPONENTS = {
    SH[param]: SH[component + "ConstraintComponent"]
    for param, component in {
        "minCount": "MinCount",
        "maxCount": "MaxCount",
        "datatype": "Datatype",
        "class": "Class",
        "nodeKind": "NodeKind",
        "pattern": "Pattern",
        "languageIn": "LanguageIn",
        "uniqueLang": "UniqueLang",
        "maxLength": "MaxLength",
        "minLength": "MinLength",
        "minInclusive": "MinInclusive",
        "maxInclusive": "MaxInclusive",
        "lessThanOrEquals": "LessThanOrEquals",
        "hasValue": "HasValue",
        "in": "In",
        "node": "Node",
        "not": "Not",
        "or": "Or",
        "xone": "Xone",
        "qualifiedMinCount": "QualifiedMinCount",
        "sparql": "SPARQL",
    }.items()
}
TARGETS = (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode, SH.target)
# The frame of the graph: not facts taken from a section, so no provenance is required.
NO_PROVENANCE = {EMK.Period, EMK.ReportSeries, EMK.ReportEdition, EMK.ReportSection, EMK.Currency}


# --- loading -----------------------------------------------------------------------------------


@cache
def shapes_graph() -> Graph:
    graph = Graph()
    for path in sorted(SHAPES_DIR.glob("*.ttl")):
        graph.parse(path)
    return graph


@cache
def ontology_graph() -> Graph:
    graph = Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        graph.parse(path)
    return graph


def data_files() -> list[Path]:
    return sorted(p for p in (ROOT / "data").rglob("*.ttl") if p.name != "prefixes.ttl")


@cache
def real_data_graph() -> Graph:
    graph = Graph()
    for path in data_files():
        graph.parse(path)
    return graph


def add_period_triples(graph: Graph) -> None:
    """Derive label, start, end and granularity for every well-formed period IRI in the graph that
    data/shared/periods.ttl does not describe yet, as ``migration-kg periods`` does; malformed ones
    are left untyped so that the shapes catch them where they are used."""
    for node in set(graph.all_nodes()):
        if not (isinstance(node, URIRef) and str(node).startswith(PERIOD_BASE)):
            continue
        if (node, EMK.startDate, None) in graph:  # already in data/shared/periods.ttl
            continue
        try:
            period = parse_period(str(node)[len(PERIOD_BASE) :])
        except PeriodSlugError:
            continue
        graph.add((node, RDF.type, EMK.Period))
        graph.add((node, RDFS.label, Literal(period.label, lang="en")))
        graph.add((node, EMK.startDate, Literal(period.start.isoformat(), datatype=XSD_DATE)))
        graph.add((node, EMK.endDate, Literal(period.end.isoformat(), datatype=XSD_DATE)))
        graph.add((node, EMK.granularity, URIRef(GRANULARITY + period.granularity)))


@cache
def ontology_frame() -> Graph:
    """The part of the ontology the shapes read: types, class hierarchy and scheme membership.
    Fixtures are validated with it instead of the whole ontology, which keeps the ~350 small
    validations fast; the real data is validated with the whole ontology."""
    wanted = {RDF.type, RDFS.subClassOf, SKOS.inScheme}
    frame = Graph()
    for triple in ontology_graph():
        if triple[1] in wanted:
            frame.add(triple)
    return frame


def validation_graph(*parts: Graph, ontology: Graph | None = None) -> Graph:
    graph = Graph()
    for part in (ontology if ontology is not None else ontology_frame(), *parts):
        for triple in part:
            graph.add(triple)
    add_period_triples(graph)
    return graph


def validate(graph: Graph) -> Graph:
    _, report, _ = pyshacl.validate(
        graph, shacl_graph=shapes_graph(), inference="none", advanced=True, allow_warnings=True
    )
    return report


Result = tuple[URIRef, URIRef | None, URIRef, URIRef, URIRef | None]
# Blank focus nodes (an anonymous period) and complex result paths (inverse or alternative paths)
# are compared as one placeholder, written "_:" in fixture expectations.
BLANK = URIRef("urn:emk-test:blank-node")


def top_results(report: Graph) -> list[URIRef | BNode]:
    """The results of the report itself, not the nested sh:detail results of sh:node."""
    return [
        r
        for rep in report.subjects(RDF.type, SH.ValidationReport)
        for r in report.objects(rep, SH.result)
    ]


def result_keys(report: Graph) -> set[Result]:
    keys = set()
    for r in top_results(report):
        constraint = report.value(r, SH.sourceConstraint)
        focus, path = report.value(r, SH.focusNode), report.value(r, SH.resultPath)
        keys.add(
            (
                BLANK if isinstance(focus, BNode) else focus,
                BLANK if isinstance(path, BNode) else path,
                report.value(r, SH.sourceConstraintComponent),
                report.value(r, SH.sourceShape),
                constraint if isinstance(constraint, URIRef) else None,
            )
        )
    return keys


# --- fixtures ----------------------------------------------------------------------------------


def fixture_files(kind: str) -> list[Path]:
    return sorted(FIXTURES_DIR.glob(f"*/{kind}-*.ttl"))


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


_EXPECT = re.compile(r"^# expect: (.+)$", re.MULTILINE)


def expectations(path: Path, graph: Graph) -> set[Result]:
    expected = set()
    for line in _EXPECT.findall(path.read_text(encoding="utf-8")):
        fields = dict(item.split("=", 1) for item in line.split())

        def term(name: str, fields: dict[str, str] = fields) -> URIRef | None:
            value = fields.get(name, "-")
            if value.startswith("_:"):
                return BLANK
            if value.startswith("<"):
                return URIRef(value[1:-1])
            return None if value == "-" else graph.namespace_manager.expand_curie(value)

        expected.add(
            (term("focus"), term("path"), term("component"), term("shape"), term("constraint"))
        )
    return expected


@cache
def base_graph() -> Graph:
    return Graph().parse(BASE_FIXTURE)


def fixture_report(path: Path) -> tuple[Graph, Graph]:
    fixture = Graph().parse(path)
    return fixture, validate(validation_graph(base_graph(), fixture))


def describe(report: Graph) -> str:
    return "\n".join(
        f"  {report.value(r, SH.focusNode)} {report.value(r, SH.resultPath)} "
        f"{report.value(r, SH.sourceConstraintComponent)} {report.value(r, SH.sourceShape)}: "
        f"{report.value(r, SH.resultMessage)}"
        for r in top_results(report)
    )


def test_fixtures_found() -> None:
    assert len(fixture_files("valid")) > 0
    assert len(fixture_files("invalid")) > 0


def test_base_fixture_conforms() -> None:
    report = validate(validation_graph(base_graph()))
    assert not top_results(report), describe(report)


@pytest.mark.parametrize("path", fixture_files("valid"), ids=fixture_id)
def test_valid_fixture(path: Path) -> None:
    _, report = fixture_report(path)
    assert not top_results(report), f"{path.name} should conform:\n{describe(report)}"


@pytest.mark.parametrize("path", fixture_files("invalid"), ids=fixture_id)
def test_invalid_fixture(path: Path) -> None:
    fixture, report = fixture_report(path)
    expected = expectations(path, fixture)
    assert expected, f"{path} has no '# expect:' line"
    own = {EMKS[path.parent.name], *_node_shapes_using(EMKS[path.parent.name])}
    assert any(shape in own for _, _, _, shape, _ in expected), (
        "no expectation for the folder's shape"
    )
    assert result_keys(report) == expected, describe(report)


def _node_shapes_using(constraint: URIRef) -> set[URIRef]:
    """Node shapes that attach a named SPARQL constraint (reported as their source shape)."""
    return set(shapes_graph().subjects(SH.sparql, constraint))


# --- the shapes graph itself -------------------------------------------------------------------


def test_shapes_graph_is_valid_shacl() -> None:
    conforms, _, text = pyshacl.validate(
        shapes_graph(), shacl_graph=Graph().parse(SHACL_SHACL), inference="none"
    )
    assert conforms, text


def test_shapes_use_only_declared_terms() -> None:
    declared = set(ontology_graph().subjects())
    used = {
        term
        for triple in shapes_graph()
        for term in triple
        if isinstance(term, URIRef) and str(term).startswith(str(EMK))
    }
    # SPARQL strings name terms too.
    for query in shapes_graph().objects(None, SH.select):
        used |= {EMK[name] for name in re.findall(r"\bemk:(\w+)", str(query))}
    assert used - declared == set()


def _named_shapes() -> list[URIRef]:
    graph = shapes_graph()
    kinds = (SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint)
    return sorted({s for k in kinds for s in graph.subjects(RDF.type, k) if isinstance(s, URIRef)})


def test_every_shape_is_documented() -> None:
    graph = shapes_graph()
    problems = []
    for shape in _named_shapes():
        if graph.value(shape, SH.name) is None and graph.value(shape, RDFS.label) is None:
            problems.append(f"{shape}: no sh:name or rdfs:label")
        for prop in (SH.description, SH.message, SH.severity):
            if graph.value(shape, prop) is None:
                problems.append(f"{shape}: no {prop}")
    assert problems == []


def _constraint_components(shape: URIRef) -> set[URIRef]:
    graph = shapes_graph()
    if (shape, RDF.type, SH.SPARQLConstraint) in graph:
        return {SH.SPARQLConstraintComponent}
    return {
        component
        for param, component in COMPONENTS.items()
        if param != SH.sparql and (shape, param, None) in graph
    }


def _shapes_needing_fixtures() -> dict[URIRef, set[URIRef]]:
    """Every constraint that can fire on data: property shapes of targeted node shapes, node-level
    constraints of targeted node shapes, and named SPARQL constraints. Shapes reached only via
    sh:node (the scheme-membership shapes) are tested through the property shapes using them."""
    graph = shapes_graph()
    needed: dict[URIRef, set[URIRef]] = {}
    for node_shape in set(graph.subjects(RDF.type, SH.NodeShape)):
        if not any((node_shape, t, None) in graph for t in TARGETS):
            continue
        if components := _constraint_components(node_shape):
            needed[node_shape] = components
        for prop in graph.objects(node_shape, SH.property):
            needed[prop] = _constraint_components(prop)
        for sparql in graph.objects(node_shape, SH.sparql):
            needed[sparql] = {SH.SPARQLConstraintComponent}
    return needed


def test_every_constraint_has_fixture_pair() -> None:
    needed = _shapes_needing_fixtures()
    assert needed
    missing = []
    for shape, components in sorted(needed.items()):
        name = str(shape).removeprefix(str(EMKS))
        folder = FIXTURES_DIR / name
        if not list(folder.glob("valid-*.ttl")):
            missing.append(f"{name}: no valid-*.ttl")
        covered = set()
        for path in folder.glob("invalid-*.ttl"):
            fixture = Graph().parse(path)
            covered |= {component for _, _, component, _, _ in expectations(path, fixture)}
        for component in sorted(components - covered):
            missing.append(f"{name}: no invalid fixture for {component.removeprefix(str(SH))}")
    assert missing == []


# --- coverage of the ontology and the data -----------------------------------------------------


def _superclasses(cls: URIRef) -> set[URIRef]:
    return set(ontology_graph().transitive_objects(cls, RDFS.subClassOf))


def _paths(shape: URIRef) -> set[URIRef]:
    graph = shapes_graph()
    found = set()
    for prop in graph.objects(shape, SH.property):
        path = graph.value(prop, SH.path)
        if isinstance(path, URIRef):
            found.add(path)
        elif (alternatives := graph.value(path, SH.alternativePath)) is not None:
            found |= {p for p in Collection(graph, alternatives) if isinstance(p, URIRef)}
    return found


def test_every_ontology_class_has_a_node_shape() -> None:
    targeted = set(shapes_graph().objects(None, SH.targetClass))
    classes = {
        c
        for c in ontology_graph().subjects(RDF.type, OWL.Class)
        # emk:Statement is abstract: its instances are shaped through their own classes.
        if str(c).startswith(str(EMK)) and c != EMK.Statement
    }
    assert classes - targeted == set()


def test_labels_and_provenance_reach_every_class() -> None:
    graph = shapes_graph()
    labelled = set(graph.objects(EMKS.Labelled, SH.targetClass))
    traced = set(graph.objects(EMKS.Provenance, SH.targetClass))
    for cls in ontology_graph().subjects(RDF.type, OWL.Class):
        if not str(cls).startswith(str(EMK)):
            continue
        assert _superclasses(cls) & labelled, f"{cls} escapes the label rule"
        if not _superclasses(cls) & NO_PROVENANCE:
            assert _superclasses(cls) & traced, f"{cls} escapes the provenance rule"


def test_data_classes_and_properties_are_shaped() -> None:
    """Every emk: class with instances in data/ has a node shape and every property used on a
    typed resource is the path of a shape that applies to it, so new terms cannot slip in."""
    graph, shapes = real_data_graph(), shapes_graph()
    by_class: dict[URIRef, set[URIRef]] = {}
    for node_shape in shapes.subjects(RDF.type, SH.NodeShape):
        for cls in shapes.objects(node_shape, SH.targetClass):
            by_class.setdefault(cls, set()).update(_paths(node_shape))
    generic = {p for p in shapes.objects(None, SH.targetSubjectsOf)}
    targeted = set(by_class)
    unshaped = set()
    for subject, predicate, _ in graph:
        if predicate == RDF.type:
            continue
        types = {t for t in graph.objects(subject, RDF.type) if str(t).startswith(str(EMK))}
        if not types or predicate in generic:
            continue
        if not any(predicate in by_class.get(c, ()) for t in types for c in _superclasses(t)):
            unshaped.add(f"{predicate} on {sorted(types)}")
    for cls in set(graph.objects(None, RDF.type)):
        if str(cls).startswith(str(EMK)) and cls not in targeted:
            unshaped.add(f"class {cls} has no node shape")
    assert sorted(unshaped) == []


# --- the real data -----------------------------------------------------------------------------


@cache
def real_validation_graph() -> Graph:
    return validation_graph(real_data_graph(), ontology=ontology_graph())


@cache
def real_report() -> Graph:
    return validate(real_validation_graph())


def _summary(report: Graph) -> str:
    shapes = shapes_graph()
    results = top_results(report)
    severities = Counter(report.value(r, SH.resultSeverity) for r in results)
    lines = [
        f"node shapes: {len(set(shapes.subjects(RDF.type, SH.NodeShape)))}, "
        f"property shapes: {len(set(shapes.subjects(RDF.type, SH.PropertyShape)))}, "
        f"SPARQL constraints: {len(set(shapes.subjects(RDF.type, SH.SPARQLConstraint)))}, "
        f"constraints: {sum(len(c) for c in _shapes_needing_fixtures().values())}",
        f"violations: {severities[SH.Violation]}, warnings: {severities[SH.Warning]}",
    ]
    for r in sorted(
        results,
        key=lambda r: (str(report.value(r, SH.sourceShape)), str(report.value(r, SH.focusNode))),
    ):
        if report.value(r, SH.resultSeverity) == SH.Violation:
            lines.append(
                f"  {report.value(r, SH.focusNode)} [{report.value(r, SH.resultPath)}] "
                f"{str(report.value(r, SH.sourceShape)).removeprefix(str(EMKS))}: "
                f"{report.value(r, SH.resultMessage)}"
            )
    return "\n".join(lines)


def test_real_data_report_is_consistent(capsys: pytest.CaptureFixture[str]) -> None:
    """Every result on the real data comes from a shape of shapes/, with that shape's severity,
    about a node of the validated graph, and the report conforms exactly when no result is a
    violation. Prints the figures (run with -s); the time it takes is bench/validation.py's."""
    report, shapes, graph = real_report(), shapes_graph(), real_validation_graph()
    with capsys.disabled():
        print("\n" + _summary(report))
    results = top_results(report)
    assert results, "the real data has warnings: a report without results checks nothing"
    nodes = set(graph.all_nodes())
    problems = []
    for r in results:
        shape, focus = report.value(r, SH.sourceShape), report.value(r, SH.focusNode)
        declared = shapes.value(shape, SH.severity) or SH.Violation
        if (shape, None, None) not in shapes:
            problems.append(f"{focus}: source shape {shape} is not in shapes/")
        if report.value(r, SH.resultSeverity) != declared:
            problems.append(f"{focus}: severity differs from {shape}'s {declared}")
        if focus not in nodes:
            problems.append(f"focus node {focus} is not a node of the validated graph")
    assert problems == []
    violations = any(report.value(r, SH.resultSeverity) == SH.Violation for r in results)
    assert set(report.objects(None, SH.conforms)) == {Literal(not violations)}


def test_real_data_has_no_violations() -> None:
    report = real_report()
    violations = [
        r for r in top_results(report) if report.value(r, SH.resultSeverity) == SH.Violation
    ]
    assert violations == [], _summary(report)
