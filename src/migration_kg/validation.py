"""Validation: the asserted graph checked against shapes/*.ttl with pySHACL.

Second step of the flow (loading → **validation** → reasoning). The data graph is ontology +
data + links, so that ``sh:targetClass`` and ``sh:class`` follow ``rdfs:subClassOf`` and shapes
can check a concept's ``skos:inScheme``. The ontology is mixed in here rather than passed as
pySHACL's ``ont_graph``, which only "inoculates" class and property axioms and would leave the
concept schemes of vocabularies.ttl out. No inference is run
(``inference="none"``): SHACL already walks the subclass hierarchy of the data graph, and
RDFS domain/range inference would *type* resources that merely use a property, hiding the
missing ``rdf:type`` a shape is there to catch. It is also the faster choice (see README).

Only ``sh:Violation`` results fail the build; warnings and infos are reported and kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from itertools import groupby

from pyshacl import validate as shacl_validate
from rdflib import BNode, Graph, Literal, Node, URIRef
from rdflib.namespace import RDF, SH
from rdflib.plugins.sparql import processor as sparql_processor
from rdflib.plugins.sparql.sparql import Query

from migration_kg.errors import ValidationFailed
from migration_kg.loading import LoadedSources, SourceKind


class Severity(Enum):
    """SHACL severities, most severe first (the order of the text report)."""

    VIOLATION = SH.Violation
    WARNING = SH.Warning
    INFO = SH.Info

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class ValidationResult:
    """One ``sh:ValidationResult``, with the data files that describe its focus node."""

    focus: str
    path: str | None
    value: str | None
    message: str
    severity: Severity
    source_shape: str
    component: str
    files: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "focus": self.focus,
            "path": self.path,
            "value": self.value,
            "message": self.message,
            "severity": self.severity.label,
            "sourceShape": self.source_shape,
            "constraintComponent": self.component,
            "files": list(self.files),
        }


@dataclass(frozen=True)
class ValidationReport:
    """What pySHACL found, sorted so that renderings are stable."""

    results: tuple[ValidationResult, ...]
    shapes_files: int
    graph: Graph = field(compare=False, repr=False)

    @property
    def conforms(self) -> bool:
        return self.count(Severity.VIOLATION) == 0

    def count(self, severity: Severity) -> int:
        return sum(1 for r in self.results if r.severity is severity)

    @property
    def summary(self) -> str:
        if self.shapes_files == 0:
            return "conforms trivially: shapes/ holds no shapes, nothing was validated"
        counts = ", ".join(f"{self.count(s)} {s.label}(s)" for s in Severity)
        verdict = "conforms" if self.conforms else "does not conform"
        return f"{verdict}: {counts} from {self.shapes_files} shapes file(s)"

    def as_dict(self) -> dict[str, object]:
        return {
            "conforms": self.conforms,
            "shapesFiles": self.shapes_files,
            "counts": {s.label: self.count(s) for s in Severity},
            "results": [r.as_dict() for r in self.results],
        }

    def render_text(self) -> str:
        """Results grouped by severity, then by shape; each line names file and focus node."""
        lines = [self.summary]
        for severity, by_severity in groupby(self.results, key=lambda r: r.severity):
            lines.append(f"\n{severity.label.upper()}")
            for (shape, message), results in groupby(
                sorted(by_severity, key=lambda r: (r.source_shape, r.message, _sort_key(r))),
                key=lambda r: (r.source_shape, r.message),
            ):
                lines.append(f"  shape {shape}: {message}")
                for r in results:
                    where = r.files[0] if r.files else "(no data file)"
                    path = f" {r.path}" if r.path else ""
                    value = f" = {r.value}" if r.value not in (None, r.focus) else ""
                    lines.append(f"    {where}: <{r.focus}>{path}{value}")
        return "\n".join(lines)

    def render_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True, ensure_ascii=False)

    def render_turtle(self) -> str:
        return self.graph.serialize(format="turtle")


def validate_sources(sources: LoadedSources, inference: str = "none") -> ValidationReport:
    """Validate data + links against the shapes, with the ontology mixed in.

    Returns:
        The report; it never raises on violations, see :func:`require_conformance`.
    """
    shapes_files = sources.of_kind(SourceKind.SHAPES)
    shapes = sources.union(SourceKind.SHAPES)
    if not shapes_files or len(shapes) == 0:
        return ValidationReport(results=(), shapes_files=0, graph=_empty_report())
    with _prepared_sparql():
        _, report_graph, _ = shacl_validate(
            sources.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS),
            shacl_graph=shapes,
            inference=inference,
            inplace=True,  # the union is a fresh copy: no need for pySHACL to clone it again
            advanced=True,
            allow_warnings=True,
            allow_infos=True,
        )
    results = [
        _result(report_graph, node, sources)
        for node in report_graph.subjects(RDF.type, SH.ValidationResult)
    ]
    return ValidationReport(
        results=tuple(sorted(results, key=_sort_key)),
        shapes_files=len(shapes_files),
        graph=report_graph,
    )


@contextmanager
def _prepared_sparql() -> Iterator[None]:
    """Parse each SHACL-SPARQL query once instead of once per focus node.

    Why: pySHACL hands rdflib the same query text for every focus node (``$this`` goes in as
    an initial binding), and rdflib parses and translates it anew each time: 94 % of the
    validation time on a 100k-triple edition was pyparsing. A translated query is immutable
    under evaluation (rdflib's own ``prepareQuery`` reuses it the same way), so it is cached
    by text, base and prefixes for the duration of one validation.
    """
    original, original_parse = sparql_processor.translateQuery, sparql_processor.parseQuery

    @lru_cache(maxsize=256)
    def translate(text: str, base: str | None, namespaces: tuple[tuple[str, str], ...]) -> Query:
        return original(original_parse(text), base, dict(namespaces) or None)

    def cached_translate(
        parsed: object, base: str | None = None, init_ns: Mapping[str, object] | None = None
    ) -> Query:
        if isinstance(parsed, _QueryText):
            return translate(str(parsed), base, tuple(sorted((init_ns or {}).items())))
        return original(parsed, base, init_ns)

    sparql_processor.parseQuery = _QueryText  # defer parsing to the cached translation
    sparql_processor.translateQuery = cached_translate
    try:
        yield
    finally:
        sparql_processor.parseQuery = original_parse
        sparql_processor.translateQuery = original


class _QueryText(str):
    """A query text not parsed yet: marks what ``_prepared_sparql`` may serve from its cache."""


def require_conformance(report: ValidationReport) -> None:
    """Raise if the report holds any violation.

    Raises:
        ValidationFailed: carrying the report.
    """
    if not report.conforms:
        raise ValidationFailed(report)


def _empty_report() -> Graph:
    graph = Graph()
    report = BNode("report")
    graph.add((report, RDF.type, SH.ValidationReport))
    graph.add((report, SH.conforms, Literal(True)))
    return graph


def _result(graph: Graph, node: Node, sources: LoadedSources) -> ValidationResult:
    def one(predicate: URIRef) -> Node | None:
        return graph.value(node, predicate)

    focus = one(SH.focusNode)
    severity = one(SH.resultSeverity)
    messages = sorted(str(m) for m in graph.objects(node, SH.resultMessage))
    return ValidationResult(
        focus=_text(focus) or "",
        path=_text(one(SH.resultPath)),
        value=_text(one(SH.value)),
        message="; ".join(messages) or "(no message)",
        severity=Severity(severity) if severity in {s.value for s in Severity} else Severity.INFO,
        source_shape=_text(one(SH.sourceShape)) or "(anonymous shape)",
        component=_text(one(SH.sourceConstraintComponent)) or "",
        files=sources.files_describing(focus, SourceKind.DATA, SourceKind.LINKS),
    )


def _text(node: Node | None) -> str | None:
    """IRIs and literals as text; blank nodes (anonymous shapes, paths) as '[]'."""
    if node is None:
        return None
    return "[]" if isinstance(node, BNode) else str(node)


def _sort_key(r: ValidationResult) -> tuple[int, str, str, str, str]:
    rank = list(Severity).index(r.severity)
    return (rank, r.source_shape, r.files[0] if r.files else "", r.focus, r.path or "")
