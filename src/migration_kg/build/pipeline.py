"""Build: the one orchestrator, load → periods check → validate → reason → release.

Last step of the flow before the CLI. Each stage is a call into its own module; this module
only sequences them, times them and gathers what the CLI prints into a ``BuildResult``. A
stage that fails raises before the release step, so dist/ is only ever replaced whole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from migration_kg.build.loading import LoadedSources, SourceKind, load_sources
from migration_kg.build.periods import check_periods
from migration_kg.build.reasoning import ReasoningResult, infer
from migration_kg.build.release import (
    ReleaseContent,
    assemble,
    class_counts,
    graph_counts,
    write_release,
)
from migration_kg.build.validation import (
    ValidationReport,
    require_conformance,
    start_validation,
    validate_sources,
)
from migration_kg.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """What a build produced: counts, the validation report, timings and the files written."""

    version: str
    build_hash: str
    triples: dict[str, int]  # per release graph IRI
    instances: dict[str, int]  # per class IRI (asserted and inferred types)
    validation: ValidationReport
    reasoning: ReasoningResult
    timings: dict[str, float]  # seconds per stage; "validate" (wall) includes "reason"
    paths: tuple[Path, ...]
    content: ReleaseContent = field(repr=False)


@dataclass
class _Stopwatch:
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        self.timings.setdefault(name, 0.0)  # stages keep their order even when nested
        log.info("%s…", name)
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)


def check(settings: Settings) -> tuple[LoadedSources, ValidationReport]:
    """Load the sources, check the generated periods and validate (no reasoning, no release).

    Raises:
        SourceError: a source file is missing or malformed, or periods.ttl is stale.
    """
    sources = load_sources(settings)
    check_periods(sources)
    return sources, validate_sources(sources)


def build(settings: Settings) -> BuildResult:
    """Build the release into ``settings.dist``.

    Raises:
        SourceError: a source file is missing or malformed, or periods.ttl is stale.
        ValidationFailed: the data violates a shape (dist/ is left as it was).
        ConfigError: the configured reasoner is unknown.
    """
    watch = _Stopwatch()
    with watch.stage("load"):
        sources = load_sources(settings)
        asserted = sources.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)
    with watch.stage("periods"):
        check_periods(sources)
    # Validation runs in worker processes while this one reasons: both only read `asserted`.
    with watch.stage("validate"):
        validation = start_validation(
            sources, data_graph=asserted, workers=settings.effective_validation_workers
        )
        with watch.stage("reason"):
            reasoning = infer(asserted, settings.reasoner)
        report = validation.report()
        require_conformance(report)
    with watch.stage("release"):
        content = assemble(sources, reasoning.inferred, report)
        paths = write_release(content, settings.dist)
    return BuildResult(
        version=content.version,
        build_hash=content.build_hash,
        triples=graph_counts(content.graphs),
        instances=class_counts(content.graphs),
        validation=report,
        reasoning=reasoning,
        timings=watch.timings,
        paths=paths,
        content=content,
    )
