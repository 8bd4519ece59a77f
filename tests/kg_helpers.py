"""Helpers for the tests (a module of its own: tests/web has its own conftest)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from migration_kg.build.pipeline import BuildResult
from migration_kg.core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
# Offline snapshots of the EU vocabularies (authority tables, DCAT-AP shapes): CI always has them.
VOCAB = REPO.parent / "shared" / "vocab"

TINY_DATA = """\
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix emk: <https://w3id.org/eu-migration-kg/ontology#> .
@prefix country: <https://w3id.org/eu-migration-kg/id/country/> .
@prefix event: <https://w3id.org/eu-migration-kg/id/event/> .
@prefix period: <https://w3id.org/eu-migration-kg/id/period/> .

country:tunisia a emk:PartnerCountry ;
    rdfs:label "Tunisia"@en .

event:2025-Q2-visit a emk:Visit ;
    rdfs:label "Visit to Tunisia"@en ;
    emk:location country:tunisia ;
    emk:period period:2025-Q2 .
"""


def make_project(root: Path, data: str = TINY_DATA, shapes: dict[str, str] | None = None) -> Path:
    """A copy of ontology/ with one tiny data file, its periods.ttl, and optional shapes."""
    shutil.copytree(REPO / "ontology", root / "ontology")
    (root / "data" / "2025-03").mkdir(parents=True)
    (root / "data" / "2025-03" / "01-tiny.ttl").write_text(data, encoding="utf-8")
    (root / "shapes").mkdir()
    for name, text in (shapes or {}).items():
        (root / "shapes" / name).write_text(text, encoding="utf-8")
    return root


def assert_isomorphic(expected: Graph, actual: Graph, what: str) -> None:
    """Fail with the triples only in one graph (blank nodes canonicalised) unless isomorphic."""
    if isomorphic(expected, actual):
        return
    _, only_expected, only_actual = graph_diff(to_isomorphic(expected), to_isomorphic(actual))
    lines = [f"{what}: graphs differ ({len(expected)} vs {len(actual)} triples)"]
    lines += [f"- {s.n3()} {p.n3()} {o.n3()}" for s, p, o in sorted(only_expected)[:20]]
    lines += [f"+ {s.n3()} {p.n3()} {o.n3()}" for s, p, o in sorted(only_actual)[:20]]
    pytest.fail("\n".join(lines))


def vocab_path(relpath: str = "") -> Path:
    """A file (or, with no argument, the folder) of ``../shared/vocab``.

    A test that needs one fails without it, never skips: a green run must have checked the
    links and the description against the real vocabularies.
    """
    path = VOCAB / relpath
    if not (path.is_file() if relpath else path.is_dir()):
        pytest.fail(
            f"{path} not found: the offline vocabulary snapshots (../shared/vocab, beside the "
            "checkout) are needed by this test; CI always has them",
            pytrace=False,
        )
    return path


@dataclass(frozen=True)
class BuiltRelease:
    """The session's build: its settings, its result and the release directory."""

    settings: Settings
    result: BuildResult

    @property
    def dist(self) -> Path:
        return self.settings.dist
