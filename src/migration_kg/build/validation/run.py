"""Running pySHACL: the asserted graph checked against shapes/*.ttl, in worker processes.

Part of the validation stage (see :mod:`migration_kg.build.validation` for what is validated
and why without inference). pySHACL is pure Python and single-threaded, so the targeted shapes
are dealt, heaviest first, to forked workers that inherit the data graph; each worker returns
its report as N-Triples and :mod:`.report` merges them. The library patches that make pySHACL
fast (:mod:`.patches`) are applied around each pySHACL call only.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

from pyshacl import validate as shacl_validate
from rdflib import Graph, Node, URIRef
from rdflib.namespace import RDF, RDFS, SH

from migration_kg.build.collector import collector_paused
from migration_kg.build.loading import LoadedSources, SourceKind
from migration_kg.build.validation.patches import library_patches
from migration_kg.build.validation.report import (
    ValidationReport,
    empty_report,
    merge_reports,
    read_report,
)
from migration_kg.core.formats import RdfFormat
from migration_kg.core.options import Inference


def validate_sources(
    sources: LoadedSources,
    inference: Inference = Inference.NONE,
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
    inference: Inference = Inference.NONE,
    *,
    data_graph: Graph | None = None,
    workers: int = 1,
) -> ValidationJob:
    """Start validating; the caller may do other work before asking for ``.report()``.

    Why: pySHACL is pure Python, single-threaded and, at 100k triples, the slowest stage of the
    build. With ``workers > 1`` the targeted shapes are dealt, heaviest first, to forked worker
    processes that inherit the data graph (nothing is copied up front), and the parent is free
    to reason meanwhile. Each worker runs pySHACL with only its share of the shapes targeted:
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
            return ValidationReport(results=(), shapes_files=0, graph=empty_report())
        try:
            shares = [p if isinstance(p, bytes) else p.get() for p in self._pending]
        finally:
            if self._pool is not None:
                self._pool.close()
                self._pool.join()
            _SHARED = None
        return read_report(merge_reports(shares), self._sources, self._shapes_files)


_SHARED: tuple[Graph, Graph, Inference] | None = None
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)


def _validate_share(share: list[str]) -> bytes:
    """Run pySHACL on some shapes (all if ``share`` is empty); the report as N-Triples.

    Runs in a forked worker or in this process; the library patches last only as long as the
    pySHACL call, in either.
    """
    assert _SHARED is not None
    data, shapes, inference = _SHARED
    if share:  # the other shares' shapes keep their constraints but lose their targets
        mine = {URIRef(iri) for iri in share}
        shapes = _without_targets(shapes, mine)
    with library_patches(), collector_paused():
        report_graph = shacl_report(data, shapes, inference)
    return bytes(report_graph.serialize(format=RdfFormat.NTRIPLES.rdflib_name, encoding="utf-8"))


def shacl_report(data: Graph, shapes: Graph, inference: Inference = Inference.NONE) -> Graph:
    """pySHACL's report graph for ``data``, with the build's options (SHACL-AF on, all severities).

    Stock pySHACL unless called inside :func:`~.patches.library_patches` (as the build does);
    the tests compare the two.
    """
    _, report_graph, _ = shacl_validate(
        data,
        shacl_graph=shapes,
        inference=inference.value,
        inplace=True,  # the union is only read (no sh:rule in shapes/): no copy needed
        advanced=True,
        allow_warnings=True,
        allow_infos=True,
    )
    assert isinstance(report_graph, Graph)
    return report_graph


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
