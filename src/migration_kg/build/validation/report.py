"""Validation reports: the results pySHACL found, sorted, and rendered as text, JSON or Turtle.

Part of the validation stage (see :mod:`migration_kg.build.validation`). pySHACL's report graph
is read into :class:`ValidationResult` values, each naming the data files that describe its
focus node, so that a user sees *where* to fix it; results are sorted so that renderings are
stable. Only ``sh:Violation`` results fail the build (:func:`require_conformance`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from itertools import groupby

from rdflib import BNode, Graph, Literal, Node, URIRef
from rdflib.namespace import RDF, SH

from migration_kg.build.loading import LoadedSources, SourceKind
from migration_kg.core.errors import ValidationFailed
from migration_kg.core.formats import RdfFormat


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
        return self.graph.serialize(format=RdfFormat.TURTLE.rdflib_name)


def read_report(graph: Graph, sources: LoadedSources, shapes_files: int) -> ValidationReport:
    """The results of a pySHACL report graph, sorted, with the data files of each focus node."""
    results = [
        _result(graph, node, sources) for node in graph.subjects(RDF.type, SH.ValidationResult)
    ]
    return ValidationReport(
        results=tuple(sorted(results, key=_sort_key)), shapes_files=shapes_files, graph=graph
    )


def merge_reports(shares: list[bytes]) -> Graph:
    """One ``sh:ValidationReport`` holding the results of every share."""
    merged = Graph()
    for share in shares:
        merged.parse(data=share, format=RdfFormat.NTRIPLES.rdflib_name)
    for report in list(merged.subjects(RDF.type, SH.ValidationReport)):
        merged.remove((report, None, None))
    report = BNode("report")
    results = list(merged.subjects(RDF.type, SH.ValidationResult))
    violations = any((r, SH.resultSeverity, SH.Violation) in merged for r in results)
    merged.add((report, RDF.type, SH.ValidationReport))
    merged.add((report, SH.conforms, Literal(not violations)))
    for result in results:
        merged.add((report, SH.result, result))
    return merged


def require_conformance(report: ValidationReport) -> None:
    """Raise if the report holds any violation.

    Raises:
        ValidationFailed: carrying the report.
    """
    if not report.conforms:
        raise ValidationFailed(report)


def empty_report() -> Graph:
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
