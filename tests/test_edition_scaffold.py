"""``migration-kg edition new``: outlines from the text, the edition frame, and its wiring.

The real 2025-03 text carries no heading numbers (the PDF's bold and indentation are lost), so
it is scaffolded with ``data/2025-03/outline.txt``, whose headings are found in the text by
title; the scaffold must rebuild the hand-encoded section frame of data/2025-03/ exactly.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from typer.testing import CliRunner

from editions_support import copy_repository
from kg_helpers import REPO, assert_isomorphic
from migration_kg.build.pipeline import build
from migration_kg.cli import app
from migration_kg.core.errors import SourceError
from migration_kg.core.settings import Settings
from migration_kg.editions.audit import audit_release
from migration_kg.editions.outline import headings_in_text, read_outline, with_slugs

REAL_TEXT = REPO.parent / "shared" / "source" / "migration-state-of-play-2025-03.txt"
OUTLINE = REPO / "data" / "2025-03" / "outline.txt"
PERIOD_2025_03 = URIRef("https://w3id.org/eu-migration-kg/id/period/2025-03")


def _run(root: Path, *args: str) -> tuple[int, str, str]:
    env = {"EMK_ROOT": str(root), "EMK_DIST_DIR": str(root / "dist")}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def without_2025_03(tmp_path: Path) -> Path:
    """A copy of the repository without data/2025-03 (so that it can be scaffolded again)."""
    root = copy_repository(tmp_path / "repo").root
    shutil.rmtree(root / "data" / "2025-03")
    return root


def test_edition_new_rebuilds_the_hand_encoded_section_frame_of_the_real_text(
    without_2025_03: Path,
) -> None:
    code, out, err = _run(
        without_2025_03, "edition", "new", "2025-03", "--source", str(REAL_TEXT),
        "--outline", str(OUTLINE),
    )  # fmt: skip
    assert code == 0, err
    assert "68 sections, 7 key objectives" in out
    folder = without_2025_03 / "data" / "2025-03"
    scaffolded = Graph().parse(folder / "00-report.ttl")
    encoded = Graph().parse(REPO / "data" / "2025-03" / "00-report.ttl")
    encoded.remove((PERIOD_2025_03, None, None))  # the scaffold leaves periods to periods.ttl
    assert_isomorphic(encoded, scaffolded, "edition and sections of 2025-03")
    # The key objectives start where the hand-written audit.toml says they do.
    ours = tomllib.loads((folder / "audit.toml").read_text(encoding="utf-8"))["sections"]
    theirs = tomllib.loads((REPO / "data/2025-03/audit.toml").read_text(encoding="utf-8"))
    assert ours == theirs["sections"]
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["00-report.ttl", "01-pact.ttl", "02-schengen.ttl", "03-smuggling.ttl",
                     "04-returns.ttl", "05-visa.ttl", "06-legal-pathways.ttl", "07-external.ttl",
                     "audit.toml", "outline.txt"]  # fmt: skip
    # The report's text is read where it lies, never copied into the project.
    source = tomllib.loads((folder / "audit.toml").read_text(encoding="utf-8"))["source"]
    assert (folder / source).resolve() == REAL_TEXT.resolve()
    assert (
        "@prefix sec: <https://w3id.org/eu-migration-kg/id/report/migration-state-of-play/2025-03/section/>"
        in (folder / "07-external.ttl").read_text(encoding="utf-8")
    )
    assert "#   sec:tunisia" in (folder / "07-external.ttl").read_text(encoding="utf-8")


def test_the_outline_of_2025_03_is_found_in_the_real_text() -> None:
    text = REAL_TEXT.read_text(encoding="utf-8")
    outline = read_outline(OUTLINE, text)
    assert len(outline) == 68
    lines = {h.notation: h.line for h in outline.headings}
    # Found by title: the cell "Libya: key steps" (7.2.3), "Morocco: key steps …" (7.3.2).
    assert (lines["7.2.3"], lines["7.3.2"], lines["1.10"]) == (312, 335, 45)
    assert outline.section_at(301).title == "Tunisia"
    anchored = sum(
        "@" in line for line in OUTLINE.read_text("utf-8").splitlines() if line[:1].isdigit()
    )
    assert anchored == 11  # the headings the extraction damaged or the encoder renamed


def test_numbered_headings_in_a_text_make_the_outline() -> None:
    text = (
        "TITLE\n| 1 Pact | body |\n| 1.1 Funding | EUR 3 billion |\n"
        "2 Member States reported progress on 2 March.\n"  # a sentence, not heading 2
        "| 1 | Relocation |\n"  # a footnote marker in its own cell, not a heading
        "3 Not next in order\n2 Returns\n2.1 Next steps\n"
    )
    outline = headings_in_text(text)
    assert outline is not None
    assert [(h.notation, h.title, h.line) for h in outline.headings] == [
        ("1", "Pact", 2), ("1.1", "Funding", 3), ("2", "Returns", 7), ("2.1", "Next steps", 8)
    ]  # fmt: skip
    slugged = with_slugs(outline, {"funding": "pact-funding"})
    assert [h.slug for h in slugged.headings] == ["pact", "pact-funding", "returns", "next-steps"]
    assert headings_in_text("no headings here\nnor here\n") is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1 Pact\n1.2 Funding", "heading 1.2 cannot follow 1"),
        ("1 Pact\nwhat is this", "expected 'NUMBER TITLE [{slug}] [@LINE]'"),
        (
            "1 Pact\n1.1 Nowhere in the text",
            "'Nowhere in the text' not found in the text from line 1",
        ),
        ("1 Pact @9", "@9 is not between line 1 and the text's end"),
    ],
)
def test_a_bad_outline_names_its_line(tmp_path: Path, line: str, message: str) -> None:
    outline = tmp_path / "outline.txt"
    outline.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"outline\.txt:[12]: ") as caught:
        read_outline(outline, "| Pact | body |\n| Funding |\n")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["edition", "new", "2025-3", "--source", str(REAL_TEXT)],
            "error: edition '2025-3' is not YYYY-MM",
        ),
        (["edition", "new", "2025-13", "--source", str(REAL_TEXT)], "is not YYYY-MM"),
        (
            ["edition", "new", "2025-03", "--source", str(REAL_TEXT)],
            "data/2025-03: edition 2025-03 exists",
        ),
        (["edition", "new", "2025-06", "--source", str(REAL_TEXT)], "no numbered headings"),
        (
            ["edition", "new", "2025-06", "--source", "/nonexistent.txt"],
            "cannot read the report text",
        ),
    ],
)
def test_edition_new_refuses_with_one_line(args: list[str], expected: str, tmp_path: Path) -> None:
    root = copy_repository(tmp_path / "repo").root
    code, _, err = _run(root, *args)
    assert code == 2
    assert expected in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (root / "data" / "2025-06").exists()


def test_a_scaffolded_edition_is_built_and_audited_on_its_own(tmp_path: Path) -> None:
    """The new folder is all the wiring: the build takes it in, the audit reads its audit.toml
    and counts only the new edition's sections (so nothing of 2025-03 counts for it)."""
    settings = copy_repository(tmp_path / "repo")
    code, _, err = _run(
        settings.root, "edition", "new", "2025-06", "--source", str(REAL_TEXT),
        "--outline", str(OUTLINE),
    )  # fmt: skip
    assert code == 0, err
    result = build(settings)
    assert result.version == "0.1.0+2025-06"
    assert result.validation.conforms
    assert result.instances["https://w3id.org/eu-migration-kg/ontology#ReportSection"] == 136
    new = audit_release(settings, None, "2025-06")  # the text: audit.toml's source
    assert [s.section for s in new] == ["pact", "schengen", "smuggling", "returns", "visa",
                                       "legal-pathways", "external"]  # fmt: skip
    assert sum(s.total for s in new) == 439
    # No fact of 2025-03 counts for 2025-06: what is "held" is only years and months matched by
    # the publication periods of the editions themselves (resources without provenance).
    held = {v.kind for s in new for v in s.represented}
    assert held <= {"year", "monthyear"}, held
    old = audit_release(settings, REAL_TEXT, "2025-03")
    assert sum(len(s.missing) for s in old) == 0
    # The sections keep their names across editions.
    report = Graph().parse(settings.data_dir / "2025-06" / "00-report.ttl")
    assert (URIRef(f"{_sec('2025-06')}tunisia"), None, None) in report


def _sec(edition: str) -> str:
    return f"https://w3id.org/eu-migration-kg/id/report/migration-state-of-play/{edition}/section/"


def test_settings_default_archive_is_beside_dist() -> None:
    assert Settings(root=Path("/x")).releases == Path("/x/releases")
