"""Validation: violations fail (naming shape, focus node and file), warnings do not."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from rdflib import Graph

from migration_kg.build.pipeline import check
from migration_kg.build.validation import Severity, require_conformance
from migration_kg.core.errors import ValidationFailed
from migration_kg.core.settings import Settings

SHAPE = """\
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix emk: <https://w3id.org/eu-migration-kg/ontology#> .
@prefix ex: <https://example.org/shapes#> .

ex:VisitDate a sh:NodeShape ;
    sh:targetClass emk:Event ;
    sh:property [ sh:path emk:date ; sh:minCount 1 ; sh:severity sh:{severity} ;
                  sh:message "An event needs a date." ] .
"""


def test_violation_is_reported_with_file_and_fails(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project(shapes={"events.ttl": SHAPE.replace("{severity}", "Violation")})
    _, report = check(settings)
    assert not report.conforms
    (result,) = report.results
    assert result.severity is Severity.VIOLATION
    assert result.focus == "https://w3id.org/eu-migration-kg/id/event/2025-Q2-visit"
    assert result.path == "https://w3id.org/eu-migration-kg/ontology#date"
    assert result.files == ("data/2025-03/01-tiny.ttl",)
    assert result.source_shape == "[]"  # an anonymous property shape
    assert result.component.endswith("MinCountConstraintComponent")
    assert result.message == "An event needs a date."
    text = report.render_text()
    assert "VIOLATION" in text
    assert "shape []: An event needs a date." in text
    focus = "<https://w3id.org/eu-migration-kg/id/event/2025-Q2-visit>"
    assert (
        f"data/2025-03/01-tiny.ttl: {focus} https://w3id.org/eu-migration-kg/ontology#date" in text
    )
    with pytest.raises(ValidationFailed) as caught:
        require_conformance(report)
    assert caught.value.exit_code == 1


def test_warnings_do_not_fail(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project(shapes={"events.ttl": SHAPE.replace("{severity}", "Warning")})
    _, report = check(settings)
    assert report.conforms
    assert report.count(Severity.WARNING) == 1
    require_conformance(report)


def test_renderings(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project(shapes={"events.ttl": SHAPE.replace("{severity}", "Violation")})
    _, report = check(settings)
    as_json = json.loads(report.render_json())
    assert as_json["conforms"] is False
    assert as_json["counts"] == {"violation": 1, "warning": 0, "info": 0}
    assert as_json["results"][0]["files"] == ["data/2025-03/01-tiny.ttl"]
    graph = Graph().parse(data=report.render_turtle(), format="turtle")
    assert len(graph) > 0


def test_no_shapes_conforms_trivially_and_says_so(tiny_project: Callable[..., Settings]) -> None:
    _, report = check(tiny_project())
    assert report.conforms
    assert report.shapes_files == 0
    assert "nothing was validated" in report.summary


_PARALLEL_CHECK = """
import json
from migration_kg.core.settings import Settings
from migration_kg.build.loading import SourceKind, load_sources
from migration_kg.build.validation import start_validation
sources = load_sources(Settings())
data = sources.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)
single = start_validation(sources, data_graph=data, workers=1)
parallel = start_validation(sources, data_graph=data, workers=2)
print(json.dumps({
    "processes": parallel.processes,
    "single": [r.as_dict() for r in single.report().results],
    "parallel": [r.as_dict() for r in parallel.report().results],
}))
"""


def test_validation_in_worker_processes_finds_exactly_what_one_process_finds() -> None:
    # A fresh interpreter: the shapes are only dealt to forked workers in a process without
    # threads, which pytest's (with servers started by other tests) may not be.
    run = subprocess.run(
        [sys.executable, "-c", _PARALLEL_CHECK], capture_output=True, text=True, check=True
    )
    outcome = json.loads(run.stdout)
    assert outcome["processes"] == 2
    assert outcome["single"], "the real graph has warnings: the comparison must not be empty"
    assert outcome["parallel"] == outcome["single"]
