"""Release: every artefact re-parses to the built graphs; builds are reproducible and atomic."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from conftest import BuiltRelease
from kg_helpers import REPO, assert_isomorphic
from migration_kg import release as release_module
from migration_kg.build import build
from migration_kg.config import Settings
from migration_kg.errors import ValidationFailed
from migration_kg.namespaces import GRAPH_ONTOLOGY, RELEASE_GRAPHS

TRIPLE_ARTEFACTS = [("emk.ttl", "turtle"), ("emk.nt", "nt"), ("emk.rdf", "xml"),
                    ("emk.jsonld", "json-ld")]  # fmt: skip
EXPECTED_FILES = {
    "emk.trig", "emk.nq", "emk.ttl", "emk.nt", "emk.rdf", "emk.jsonld",
    "context.jsonld", "ontology.ttl", "manifest.json", "partner-countries.jsonld",
}  # fmt: skip


def test_the_release_holds_every_artefact(built_release: BuiltRelease) -> None:
    assert {p.name for p in built_release.dist.iterdir()} == EXPECTED_FILES
    assert {p.name for p in built_release.result.paths} == EXPECTED_FILES


@pytest.mark.parametrize(("name", "fmt"), [("emk.trig", "trig"), ("emk.nq", "nquads")])
def test_dataset_artefacts_round_trip(built_release: BuiltRelease, name: str, fmt: str) -> None:
    parsed = Dataset()
    parsed.parse(built_release.dist / name, format=fmt)
    expected = built_release.result.content.graphs
    named = {g.identifier for g in parsed.graphs() if len(g)}
    assert named <= set(RELEASE_GRAPHS)
    for iri in RELEASE_GRAPHS:
        assert_isomorphic(expected[iri], parsed.graph(iri), f"{name} graph <{iri}>")


@pytest.mark.parametrize(("name", "fmt"), TRIPLE_ARTEFACTS)
def test_union_artefacts_round_trip(built_release: BuiltRelease, name: str, fmt: str) -> None:
    parsed = Graph().parse(built_release.dist / name, format=fmt)
    assert_isomorphic(built_release.result.content.union(), parsed, name)


def test_ontology_artefact_is_the_ontology_graph(built_release: BuiltRelease) -> None:
    parsed = Graph().parse(built_release.dist / "ontology.ttl", format="turtle")
    assert_isomorphic(built_release.result.content.graphs[GRAPH_ONTOLOGY], parsed, "ontology.ttl")


def test_context_gives_readable_keys(built_release: BuiltRelease) -> None:
    context = json.loads((built_release.dist / "context.jsonld").read_text())["@context"]
    assert context["emk"] == "https://w3id.org/eu-migration-kg/ontology#"
    assert context["startDate"] == {"@id": "emk:startDate", "@type": "xsd:date"}
    assert context["organiser"] == {"@id": "emk:organiser"}
    document = json.loads((built_release.dist / "emk.jsonld").read_text())
    assert document["@context"] == context


def test_manifest_matches_files_and_counts(built_release: BuiltRelease) -> None:
    dist = built_release.dist
    manifest = json.loads((dist / "manifest.json").read_text())
    result = built_release.result
    assert manifest["version"] == result.version
    assert manifest["build_hash"] == result.build_hash
    assert manifest["triples"] == result.triples
    assert manifest["instances"] == result.instances
    assert manifest["validation"]["conforms"] is True
    for name, entry in manifest["artefacts"].items():
        data = (dist / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}, name
    for source in manifest["sources"]:
        data = (REPO / source["path"]).read_bytes()
        assert source["sha256"] == hashlib.sha256(data).hexdigest(), source["path"]
    assert [s["path"] for s in manifest["sources"]] == sorted(
        s["path"] for s in manifest["sources"]
    )


@pytest.mark.slow
def test_two_builds_give_the_same_bytes(built_release: BuiltRelease, tmp_path: Path) -> None:
    """A second build in a fresh process, with another hash seed, writes identical files."""
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
        "EMK_ROOT": str(REPO),
        "EMK_DIST_DIR": str(tmp_path / "dist"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    code = "from migration_kg.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "build"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    for name in sorted(EXPECTED_FILES):
        first = (built_release.dist / name).read_bytes()
        second = (tmp_path / "dist" / name).read_bytes()
        assert first == second, f"{name} differs between two builds"


def _seed_release(dist: Path) -> bytes:
    dist.mkdir(parents=True)
    (dist / "emk.trig").write_text("# the previous release\n")
    return (dist / "emk.trig").read_bytes()


def test_failed_validation_leaves_dist_untouched(tiny_project: Callable[..., Settings]) -> None:
    shape = (
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "@prefix emk: <https://w3id.org/eu-migration-kg/ontology#> .\n"
        "[] a sh:NodeShape ; sh:targetClass emk:Event ;\n"
        "   sh:property [ sh:path emk:date ; sh:minCount 1 ] .\n"
    )
    settings = tiny_project(shapes={"events.ttl": shape})
    before = _seed_release(settings.dist)
    with pytest.raises(ValidationFailed):
        build(settings)
    assert [p.name for p in settings.dist.iterdir()] == ["emk.trig"]
    assert (settings.dist / "emk.trig").read_bytes() == before
    assert sorted(p.name for p in settings.dist.parent.iterdir()) == ["dist", "project"]


def test_failure_while_writing_leaves_dist_untouched(
    tiny_project: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tiny_project()
    before = _seed_release(settings.dist)

    def broken(*args: object, **kwargs: object) -> dict[str, object]:
        raise OSError("disk full")

    monkeypatch.setattr(release_module, "manifest", broken)
    with pytest.raises(OSError, match="disk full"):
        build(settings)
    assert (settings.dist / "emk.trig").read_bytes() == before
    assert sorted(p.name for p in settings.dist.parent.iterdir()) == ["dist", "project"]


def test_a_successful_build_replaces_the_previous_release(
    tiny_project: Callable[..., Settings],
) -> None:
    settings = tiny_project()
    _seed_release(settings.dist)
    result = build(settings)
    assert {p.name for p in settings.dist.iterdir()} == EXPECTED_FILES
    assert (settings.dist / "emk.trig").read_bytes() != b"# the previous release\n"
    assert result.triples[str(RELEASE_GRAPHS[1])] > 0
    assert sorted(p.name for p in settings.dist.parent.iterdir()) == ["dist", "project"]
