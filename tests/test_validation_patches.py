"""The library patches of the validation stage: same results as stock, applied only inside it.

The build runs pySHACL with two patches (build/validation/patches/: pySHACL's constraint
parameters indexed, rdflib's SPARQL parse cached). These tests prove that the patched run
reports exactly what stock pySHACL reports — on the real graph and on every shape fixture —
that after validation stock pySHACL and rdflib are back, and that a library version the
patches were not checked against is refused, loudly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pyshacl
import pytest
import rdflib
from pyshacl import shape
from rdflib import Graph
from rdflib.namespace import RDF, SH
from rdflib.plugins.sparql import algebra, parser, processor

from kg_helpers import REPO, assert_isomorphic
from migration_kg.build.loading import SourceKind, load_sources
from migration_kg.build.validation import validate_sources
from migration_kg.build.validation.patches import library_patches
from migration_kg.build.validation.patches import pyshacl as pyshacl_patch
from migration_kg.build.validation.patches import rdflib_sparql as rdflib_patch
from migration_kg.build.validation.run import shacl_report
from migration_kg.core.errors import UnsupportedLibrary
from migration_kg.core.settings import Settings
from test_shapes import base_graph, fixture_files, fixture_id, shapes_graph, validation_graph

_ABSENT = object()
# A SPARQL-based constraint, so that the rdflib patch is exercised too.
SPARQL_SHAPE = '''\
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix emk: <https://w3id.org/eu-migration-kg/ontology#> .
@prefix ex: <https://example.org/shapes#> .

ex:Dated a sh:NodeShape ;
    sh:targetClass emk:Event ;
    sh:sparql [ sh:message "An event needs a date." ;
                sh:select """SELECT $this WHERE {
                    FILTER NOT EXISTS { $this <https://w3id.org/eu-migration-kg/ontology#date> ?d }
                }""" ] .
'''
FIXTURES = fixture_files("valid") + fixture_files("invalid")


def _library_state() -> tuple[object, object, object]:
    """What the patches replace: rdflib's two processor globals, pySHACL's parameter cache."""
    return (
        processor.parseQuery,
        processor.translateQuery,
        vars(shape).get(pyshacl_patch.PATCHED, _ABSENT),
    )


def _assert_stock(before: tuple[object, object, object]) -> None:
    assert processor.parseQuery is parser.parseQuery
    assert processor.translateQuery is algebra.translateQuery
    assert _library_state() == before
    cached = vars(shape).get(pyshacl_patch.PATCHED, (None,))
    assert not isinstance(cached[0], pyshacl_patch.ParameterList)


def _patched_and_stock(data: Graph, shapes: Graph) -> tuple[Graph, Graph]:
    stock = shacl_report(data, shapes)
    with library_patches():
        patched = shacl_report(data, shapes)
    return patched, stock


def test_patched_and_stock_pyshacl_agree_on_the_real_graph() -> None:
    sources = load_sources(Settings(root=REPO))
    data = sources.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)
    patched, stock = _patched_and_stock(data, sources.union(SourceKind.SHAPES))
    assert any(stock.subjects(RDF.type, SH.ValidationResult)), "the real graph has warnings"
    assert_isomorphic(stock, patched, "the real graph's report, stock vs patched")


def test_shape_fixtures_found() -> None:
    assert len(FIXTURES) > 100


@pytest.mark.parametrize("path", FIXTURES, ids=fixture_id)
def test_patched_and_stock_pyshacl_agree_on_shape_fixture(path: Path) -> None:
    """Each fixture validated as tests/test_shapes.py does, by stock and by patched pySHACL."""
    data = validation_graph(base_graph(), Graph().parse(path))
    patched, stock = _patched_and_stock(data, shapes_graph())
    assert_isomorphic(stock, patched, f"{path.parent.name}/{path.name}, stock vs patched")


def test_patches_apply_inside_the_block_only() -> None:
    before = _library_state()
    with library_patches():
        assert processor.parseQuery is rdflib_patch.QueryText
        assert processor.translateQuery is not algebra.translateQuery
        assert isinstance(vars(shape)[pyshacl_patch.PATCHED][0], pyshacl_patch.ParameterList)
    _assert_stock(before)
    with pytest.raises(RuntimeError, match="inside"), library_patches():
        raise RuntimeError("inside")
    _assert_stock(before)


def test_validation_leaves_stock_libraries_behind(tiny_project: Callable[..., Settings]) -> None:
    """The build's own validation call (one process: the worker function runs here)."""
    settings = tiny_project(shapes={"events.ttl": SPARQL_SHAPE})
    before = _library_state()
    report = validate_sources(load_sources(settings), workers=1)
    assert [r.message for r in report.results] == ["An event needs a date."]
    _assert_stock(before)


@pytest.mark.parametrize(
    ("library", "name", "patch"),
    [(pyshacl, "pySHACL", pyshacl_patch), (rdflib, "rdflib", rdflib_patch)],
    ids=["pyshacl", "rdflib"],
)
def test_unknown_library_version_is_refused(
    library: ModuleType, name: str, patch: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _library_state()
    monkeypatch.setattr(library, "__version__", "0.0.1")
    checked = re.escape(", ".join(patch.CHECKED_VERSIONS))
    refused = pytest.raises(UnsupportedLibrary, match=rf"^{name} 0\.0\.1 .* only against {checked}")
    with refused, library_patches():
        pytest.fail("patched an unchecked version")
    _assert_stock(before)


def test_checked_versions_are_the_pinned_ones() -> None:
    """Bumping a pin in requirements/runtime.lock means checking its patch again."""
    lock = (REPO / "requirements" / "runtime.lock").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", lock, re.MULTILINE))
    assert pins["pyshacl"] in pyshacl_patch.CHECKED_VERSIONS
    assert pins["rdflib"] in rdflib_patch.CHECKED_VERSIONS
    assert pyshacl.__version__ == pins["pyshacl"] and rdflib.__version__ == pins["rdflib"]
