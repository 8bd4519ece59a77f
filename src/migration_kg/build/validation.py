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
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from itertools import groupby
from typing import Any

from pyshacl import validate as shacl_validate
from rdflib import BNode, Graph, Literal, Node, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.plugins.sparql import processor as sparql_processor
from rdflib.plugins.sparql.sparql import Query

from migration_kg.build.collector import collector_paused
from migration_kg.build.loading import LoadedSources, SourceKind
from migration_kg.core.errors import ValidationFailed


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


def validate_sources(
    sources: LoadedSources,
    inference: str = "none",
    *,
    data_graph: Graph | None = None,
    workers: int = 1,
) -> ValidationReport:
    """Validate data + links against the shapes, with the ontology mixed in.

    Args:
        data_graph: ontology + data + links, if the caller already holds that union (it is
            only read); built here otherwise.
        workers: processes sharing the shapes (see :func:`start_validation`).

    Returns:
        The report; it never raises on violations, see :func:`require_conformance`.
    """
    return start_validation(sources, inference, data_graph=data_graph, workers=workers).report()


def start_validation(
    sources: LoadedSources,
    inference: str = "none",
    *,
    data_graph: Graph | None = None,
    workers: int = 1,
) -> ValidationJob:
    """Start validating; the caller may do other work before asking for ``.report()``.

    Why: pySHACL is pure Python, single-threaded and, at 100k triples, the slowest stage of the
    build. With ``workers > 1`` the targeted shapes are dealt, heaviest first, to forked worker
    processes that inherit the data graph (nothing is copied up front), and the parent is free
    to reason meanwhile. Each worker runs pySHACL on its share of the shapes (``use_shapes``):
    the results are those of one run over all shapes, merged into one report.
    """
    shapes_files = sources.of_kind(SourceKind.SHAPES)
    shapes = sources.union(SourceKind.SHAPES)
    if not shapes_files or len(shapes) == 0:
        return ValidationJob(sources, 0, [], None)
    data = (
        data_graph
        if data_graph is not None
        else sources.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)
    )
    bins = _deal_shapes(shapes, data, workers) if workers > 1 else [[]]
    global _SHARED  # read by forked workers: inherited, never pickled
    _SHARED = (data, shapes, inference)
    if len(bins) == 1 or threading.active_count() > 1:  # never fork a threaded process
        return ValidationJob(sources, len(shapes_files), [_validate_share([])], None)
    pool = multiprocessing.get_context("fork").Pool(len(bins))
    pending = [pool.apply_async(_validate_share, (share,)) for share in bins]
    return ValidationJob(sources, len(shapes_files), pending, pool)


class ValidationJob:
    """A validation under way (in worker processes) or done (in this one)."""

    def __init__(
        self,
        sources: LoadedSources,
        shapes_files: int,
        pending: list[Any],
        pool: Any,
    ) -> None:
        self._sources, self._shapes_files = sources, shapes_files
        self._pending, self._pool = pending, pool

    @property
    def processes(self) -> int:
        """Worker processes validating (0: validated in this process)."""
        return len(self._pending) if self._pool is not None else 0

    def report(self) -> ValidationReport:
        """Wait for every share, merge the results and sort them."""
        global _SHARED
        if self._shapes_files == 0:
            return ValidationReport(results=(), shapes_files=0, graph=_empty_report())
        try:
            shares = [p if isinstance(p, bytes) else p.get() for p in self._pending]
        finally:
            if self._pool is not None:
                self._pool.close()
                self._pool.join()
            _SHARED = None
        report_graph = _merge_reports(shares)
        results = [
            _result(report_graph, node, self._sources)
            for node in report_graph.subjects(RDF.type, SH.ValidationResult)
        ]
        return ValidationReport(
            results=tuple(sorted(results, key=_sort_key)),
            shapes_files=self._shapes_files,
            graph=report_graph,
        )


_SHARED: tuple[Graph, Graph, str] | None = None
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)


def _validate_share(share: list[str]) -> bytes:
    """Run pySHACL on some shapes (all if ``share`` is empty); the report as N-Triples."""
    assert _SHARED is not None
    data, shapes, inference = _SHARED
    _index_constraint_parameters()
    if share:  # the other shares' shapes keep their constraints but lose their targets
        mine = {URIRef(iri) for iri in share}
        shapes = _without_targets(shapes, mine)
    with _prepared_sparql(), collector_paused():
        _, report_graph, _ = shacl_validate(
            data,
            shacl_graph=shapes,
            inference=inference,
            inplace=True,  # the union is only read (no sh:rule in shapes/): no copy needed
            advanced=True,
            allow_warnings=True,
            allow_infos=True,
        )
    return bytes(report_graph.serialize(format="nt", encoding="utf-8"))


class _ParameterList(list[Any]):
    """pySHACL's list of constraint parameters, with a set for membership tests."""

    def __init__(self, items: Iterable[Any]) -> None:
        super().__init__(items)
        self._members = set(self)

    def __contains__(self, item: object) -> bool:
        return item in self._members

    def copy(self) -> _ParameterList:
        return _ParameterList(self)

    def append(self, item: Any) -> None:
        super().append(item)
        self._members.add(item)


def _index_constraint_parameters() -> None:
    """Make pySHACL's "is this predicate a constraint parameter?" a set lookup.

    Why: for every (shape, focus nodes) evaluation pySHACL tests each predicate of the shape
    against a *list* of ~40 parameter IRIs, each test a Python-level ``URIRef.__eq__``: half of
    the validation time at 100k triples. pySHACL caches that list on its ``shape`` module on
    first use (``CONSTRAINT_PARAMS``); seeding the cache with an indexed list changes nothing
    else (the validation tests compare results).
    """
    from pyshacl import shape as shape_module
    from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP

    cached = getattr(shape_module, "CONSTRAINT_PARAMS", (None, None))[0]
    if not isinstance(cached, _ParameterList):
        indexed = (_ParameterList(ALL_CONSTRAINT_PARAMETERS), CONSTRAINT_PARAMETERS_MAP)
        setattr(shape_module, "CONSTRAINT_PARAMS", indexed)  # noqa: B010


def _without_targets(shapes: Graph, keep: set[URIRef]) -> Graph:
    """A copy of ``shapes`` in which only the shapes in ``keep`` select focus nodes.

    Why not pySHACL's ``use_shapes``: with it, results of nested property shapes whose
    severity differs from their node shape's went missing; untargeted shapes are inert, so
    dropping targets restricts a run to its share and changes nothing else.
    """
    copy = Graph(bind_namespaces="none")
    copy.addN((s, p, o, copy) for s, p, o in shapes if not (p in _TARGETS and s not in keep))
    return copy


def _deal_shapes(shapes: Graph, data: Graph, workers: int) -> list[list[str]]:
    """Targeted shapes in ``workers`` shares of about equal work, heaviest shape first.

    The work of a shape is estimated by its focus nodes times its constraints; a shape whose
    target is a SPARQL query counts as heavy. An anonymous targeted shape cannot be named to
    pySHACL, so then everything stays in one share.
    """
    targeted = {s for p in _TARGETS for s in shapes.subjects(p, None)}
    if any(not isinstance(s, URIRef) for s in targeted):
        return [[]]
    cost = {shape: _estimated_work(shape, shapes, data) for shape in targeted}
    bins: list[list[str]] = [[] for _ in range(min(workers, len(targeted)))]
    loads = [0] * len(bins)
    for shape in sorted(cost, key=lambda s: (-cost[s], str(s))):
        lightest = loads.index(min(loads))
        bins[lightest].append(str(shape))
        loads[lightest] += cost[shape]
    return [b for b in bins if b] or [[]]


def _estimated_work(shape: Node, shapes: Graph, data: Graph) -> int:
    focus = 0
    for cls in shapes.objects(shape, SH.targetClass):
        focus += sum(1 for _ in data.subjects(RDF.type, cls))
        focus += sum(
            1 for sub in data.subjects(RDFS.subClassOf, cls) for _ in data.subjects(RDF.type, sub)
        )
    for prop in shapes.objects(shape, SH.targetSubjectsOf):
        focus += len(set(data.subjects(prop, None)))
    for prop in shapes.objects(shape, SH.targetObjectsOf):
        focus += len(set(data.objects(None, prop)))
    focus += sum(1 for _ in shapes.objects(shape, SH.targetNode))
    if (shape, SH.target, None) in shapes:
        focus += len(data) // 20
    constraints = 1 + sum(1 for _ in shapes.predicate_objects(shape))
    return focus * constraints


def _merge_reports(shares: list[bytes]) -> Graph:
    """One ``sh:ValidationReport`` holding the results of every share."""
    merged = Graph()
    for share in shares:
        merged.parse(data=share, format="nt")
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


@contextmanager
def _prepared_sparql() -> Iterator[None]:
    """Parse each SHACL-SPARQL query once instead of once per focus node.

    Why: pySHACL hands rdflib the same query text for every focus node (``$this`` goes in as
    an initial binding), and rdflib parses and translates it anew each time: 94 % of the
    validation time on a 100k-triple edition was pyparsing. A translated query is immutable
    under evaluation (rdflib's own ``prepareQuery`` reuses it the same way), so it is cached
    by text, base and prefixes for the duration of one validation.
    """
    original: Callable[..., Query] = getattr(sparql_processor, "translateQuery")  # noqa: B009
    original_parse: Callable[[str], Any] = getattr(sparql_processor, "parseQuery")  # noqa: B009

    @lru_cache(maxsize=256)
    def translate(text: str, base: str | None, namespaces: tuple[tuple[str, str], ...]) -> Query:
        return original(original_parse(text), base, dict(namespaces) or None)

    def cached_translate(
        parsed: object, base: str | None = None, init_ns: Mapping[str, str] | None = None
    ) -> Query:
        if isinstance(parsed, _QueryText):
            return translate(str(parsed), base, tuple(sorted((init_ns or {}).items())))
        return original(parsed, base, init_ns)

    # The processor module calls these two by their global names: swap them for the duration.
    setattr(sparql_processor, "parseQuery", _QueryText)  # noqa: B010
    setattr(sparql_processor, "translateQuery", cached_translate)  # noqa: B010
    try:
        yield
    finally:
        setattr(sparql_processor, "parseQuery", original_parse)  # noqa: B010
        setattr(sparql_processor, "translateQuery", original)  # noqa: B010


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
