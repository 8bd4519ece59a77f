"""``migration-kg diff OLD NEW``: the second edition's changes, exactly, in every form.

OLD is the session's build of the real repository; NEW is the temporary copy with the test
edition 2025-06 of tests/editions_support.py (a figure revised, a commitment added, a next step
removed and one done, a status changed, a new event).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV, RDF
from typer.testing import CliRunner

from editions_support import ID, RESOURCES, SecondEdition
from migration_kg.cli import app
from migration_kg.core.namespaces import EMK, GRAPH_DATA, GRAPH_INFERRED, GRAPH_METADATA
from migration_kg.editions.diff import ReleaseDiff, diff_releases
from migration_kg.editions.releases import ReleaseDir

CS = Namespace("http://purl.org/vocab/changeset/schema#")


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def diff(second_edition: SecondEdition) -> ReleaseDiff:
    return diff_releases(ReleaseDir.open(second_edition.old), ReleaseDir.open(second_edition.new))


def test_the_diff_reports_exactly_the_changes_of_the_new_edition(diff: ReleaseDiff) -> None:
    found: dict[str, list[str]] = {}
    for change in diff.content:
        found.setdefault(change.kind, []).append(change.resource)
    assert found == RESOURCES
    assert {c.graph for c in diff.content} == {str(GRAPH_DATA)}
    changes = {c.resource: c.change for c in diff.content}
    assert changes[RESOURCES["next step removed"][0]] == "removed"
    assert changes[RESOURCES["status changed"][0]] == "changed"
    assert changes[RESOURCES["revised figure"][0]] == "added"


def test_each_change_carries_the_right_triples(diff: ReleaseDiff) -> None:
    by_resource = {c.resource: c for c in diff.content}
    status = by_resource[RESOURCES["status changed"][0]]
    assert status.values(str(EMK.status)) == (f"<{ID}concept/status/on-hold>",)
    assert status.values(str(EMK.status), added=False) == (f"<{ID}concept/status/ongoing>",)
    revised = by_resource[RESOURCES["revised figure"][0]]
    assert revised.values(str(PROV.wasRevisionOf)) == (
        f"<{ID}observation/2025-03/central-mediterranean-irregular-border-crossings-2024>",
    )
    assert revised.values(str(EMK.value)) == (
        '"67000"^^<http://www.w3.org/2001/XMLSchema#integer>',
    )
    done = by_resource[RESOURCES["next step done"][0]]
    assert done.added == (
        f"<{done.resource}> <{EMK.realisedBy}> <{RESOURCES['event added'][0]}> .",
    )
    assert done.removed == ()
    commitment = by_resource[RESOURCES["commitment added"][0]]
    amount = [line for line in commitment.added if "schema.org/value" in line]
    assert amount and amount[0].startswith("_:b") and '"20000000"^^' in amount[0]


def test_the_identity_rules_hold_on_the_second_edition(second_edition: SecondEdition) -> None:
    """The build validated the copy with shapes/editions.ttl: a revision and a realised step."""
    assert second_edition.result.validation.conforms
    shapes = sorted(p.name for p in (second_edition.settings.root / "shapes").glob("*.ttl"))
    assert "editions.ttl" in shapes
    assert second_edition.result.validation.shapes_files == len(shapes)
    data = Graph()
    for path in sorted((second_edition.settings.data_dir / "2025-06").glob("*.ttl")):
        data.parse(path)
    assert len(list(data.subject_objects(PROV.wasRevisionOf))) == 1
    assert len(list(data.subject_objects(EMK.realisedBy))) == 1


def test_derived_graphs_are_reported_apart(diff: ReleaseDiff) -> None:
    assert diff.derived, "a new edition changes the inferred and metadata graphs"
    assert {c.graph for c in diff.derived} == {str(GRAPH_INFERRED), str(GRAPH_METADATA)}
    assert {c.kind for c in diff.derived} == {"inferred", "release metadata"}
    # Content first, derived after: never interleaved.
    flags = [c.derived for c in diff.changes]
    assert flags == sorted(flags)


def test_json_has_the_documented_shape_and_is_deterministic(second_edition: SecondEdition) -> None:
    args = ("diff", str(second_edition.old), str(second_edition.new), "--format", "json")
    code, first, err = _cli(*args)
    assert code == 0, err
    assert _cli(*args)[1] == first
    body = json.loads(first)
    assert list(body) == ["old", "new", "changes"]
    assert (body["old"], body["new"]) == ("0.1.0+2025-03", "0.1.0+2025-06")
    for change in body["changes"]:
        assert list(change) == ["resource", "graph", "change", "kind", "added", "removed"]
        assert change["change"] in ("added", "removed", "changed")
        for line in change["added"] + change["removed"]:
            Graph().parse(data=line, format="nt")  # each is an N-Triples statement


def test_text_and_markdown_group_changes_as_a_reader_asks(second_edition: SecondEdition) -> None:
    old, new = str(second_edition.old), str(second_edition.new)
    code, text, _ = _cli("diff", old, new)
    assert code == 0
    for heading in ("Revised figures (1)", "New commitments (1)", "New events (1)",
                    "Removed next steps (1)", "Next steps done (1)", "Status changes (1)",
                    "Derived graphs"):  # fmt: skip
        assert heading in text
    assert "\u2212 emk:status status:ongoing" in text and "+ emk:status status:on-hold" in text
    derived = text.index("Derived graphs (not statements of the report)")
    assert text.index("Revised figures") < text.index("Status changes") < derived
    assert "graph:inferred: " in text[derived:]
    code, markdown, _ = _cli("diff", old, new, "--format", "markdown")
    assert code == 0
    assert markdown.startswith("# What changed from 0.1.0+2025-03 to 0.1.0+2025-06")
    assert "## Next steps done (1)" in markdown and "| `graph:inferred` |" in markdown


def test_turtle_is_a_changeset_per_change(second_edition: SecondEdition, diff: ReleaseDiff) -> None:
    code, out, _ = _cli("diff", str(second_edition.old), str(second_edition.new), "-f", "turtle")
    assert code == 0
    graph = Graph().parse(data=out, format="turtle")
    sets = set(graph.subjects(RDF.type, CS.ChangeSet))
    assert len(sets) == len(diff.changes)
    status = next(
        s for s in sets if (s, CS.changeReason, Literal("status changed", lang="en")) in graph
    )
    assert graph.value(status, CS.subjectOfChange) == URIRef(RESOURCES["status changed"][0])
    removal = graph.value(status, CS.removal)
    assert graph.value(removal, RDF.object) == URIRef(f"{ID}concept/status/ongoing")
    assert graph.value(status, PROV.atLocation) == GRAPH_DATA


def test_a_release_compared_with_itself_has_no_change(second_edition: SecondEdition) -> None:
    release = ReleaseDir.open(second_edition.new)
    assert diff_releases(release, release).changes == ()


def _copy_release(source: Path, target: Path, version: str | None = None) -> Path:
    shutil.copytree(source, target)
    if version is not None:
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        manifest["version"] = version
        (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return target


def test_bad_input_is_one_line_and_exit_2(second_edition: SecondEdition, tmp_path: Path) -> None:
    new = str(second_edition.new)
    no_manifest = tmp_path / "no-manifest"
    no_manifest.mkdir()
    code, _, err = _cli("diff", str(no_manifest), new)
    assert (code, len(err.strip().splitlines())) == (2, 1)
    assert "no-manifest/manifest.json: no manifest.json: not a built release directory" in err
    major = _copy_release(second_edition.new, tmp_path / "major", "1.0.0+2025-06")
    code, _, err = _cli("diff", str(second_edition.old), str(major))
    assert (code, len(err.strip().splitlines())) == (2, 1)
    assert "error: cannot compare release 0.1.0+2025-03 with 1.0.0+2025-06" in err
    assert "ontology major versions differ (0 vs 1)" in err
    code, _, err = _cli("diff", str(tmp_path / "missing"), new)
    assert (code, len(err.strip().splitlines())) == (2, 1)
    assert "not a directory" in err
