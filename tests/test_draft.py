"""``migration-kg draft``: the worksheet of candidate facts and its measured quality.

The measurement on the real 2025-03 text is the table in the README: this test recomputes it
and fails if the README says anything else.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from rdflib import Graph
from typer.testing import CliRunner

from editions_support import SecondEdition
from kg_helpers import REPO
from migration_kg.cli import app
from migration_kg.core.settings import Settings
from migration_kg.editions.draft import draft_edition, read_inputs, render_worksheet, sentence_at
from migration_kg.editions.draft_measure import measure_draft, render_measure
from migration_kg.editions.entities import EntityIndex

README_TABLE = re.compile(r"<!-- draft-measure -->\n(.*?)<!-- /draft-measure -->", re.S)
ID = "https://w3id.org/eu-migration-kg/id/"


@pytest.fixture(scope="module")
def real_draft() -> tuple[object, object]:
    inputs = read_inputs(Settings(root=REPO), "2025-03")  # the text: audit.toml's source
    return inputs, draft_edition(inputs)


def test_the_readme_table_is_the_measured_draft(real_draft: tuple) -> None:  # type: ignore[type-arg]
    inputs, draft = real_draft
    measured = render_measure(measure_draft(draft, inputs.graph))
    found = README_TABLE.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md has no <!-- draft-measure --> table"
    assert found.group(1) == measured
    rows = measured.splitlines()[2:]
    assert [row.split(" ", 2)[1] for row in rows] == ["1", "2", "3", "4", "5", "6", "7", "**all**"]


def test_the_worksheet_has_a_row_per_value_with_its_section(real_draft: tuple) -> None:  # type: ignore[type-arg]
    _, draft = real_draft
    rows = list(csv.DictReader(io.StringIO(render_worksheet(draft)), delimiter="\t"))
    assert len(rows) == 439  # every value the audit extracts
    crossings = next(r for r in rows if r["line"] == "290" and r["text"] == "66 800")
    assert (crossings["section"], crossings["title"]) == ("7.2", "Central Mediterranean")
    assert (crossings["kind"], crossings["value"]) == ("count", "66800")
    assert "route:central-mediterranean (Central Mediterranean route)" in crossings["entities"]
    tunisia = next(r for r in rows if r["line"] == "301" and r["kind"] == "amount")
    assert tunisia["section"] == "7.2.2" and "country:tunisia" in tunisia["entities"]


def test_entities_resolve_by_any_name_ignoring_accents_and_case() -> None:
    graph = Graph().parse(
        data="""
        @prefix emk: <https://w3id.org/eu-migration-kg/ontology#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
        emk:PartnerCountry rdfs:subClassOf emk:Country .
        <urn:t> a emk:PartnerCountry ; rdfs:label "Türkiye"@en .
        <urn:a> a emk:Fund ; rdfs:label "Asylum, Migration and Integration Fund"@en ;
            skos:altLabel "AMIF" .
        emk:Fund rdfs:subClassOf emk:FundingInstrument .
        <urn:tp> a emk:TalentPartnership ; rdfs:label "Talent Partnership with Türkiye"@en .
        emk:TalentPartnership rdfs:subClassOf emk:CooperationFramework .
        <urn:x> a emk:Event ; rdfs:label "Turkiye meeting"@en .
        """,
        format="turtle",
    )
    index = EntityIndex(graph)
    assert [(m.iri, m.family) for m in index.resolve("talks with TURKIYE under amif")] == [
        ("urn:t", "country"), ("urn:a", "fund")
    ]  # fmt: skip
    # The longest name wins; events are not resolved; "Turkiyes" is not a word match.
    assert [m.iri for m in index.resolve("the Talent Partnership with Turkiye")] == ["urn:tp"]
    assert index.resolve("Turkiyes") == ()


def test_a_sentence_is_cut_at_full_stops_colons_cells_and_bullets() -> None:
    line = "| | In 2024, 37 613 were intercepted. Arrivals fell by 13%. | • Next: EUR 5 million |"
    assert sentence_at(line, line.index("37 613")) == "In 2024, 37 613 were intercepted."
    assert sentence_at(line, line.index("13%")) == "Arrivals fell by 13%."
    assert sentence_at(line, line.index("EUR 5")) == "EUR 5 million"
    assert sentence_at("• Egypt (EUR 20 million) • Libya", 10) == "Egypt (EUR 20 million)"


def test_the_draft_of_a_new_edition_uses_its_outline(second_edition: SecondEdition) -> None:
    inputs = read_inputs(second_edition.settings, "2025-06")
    draft = draft_edition(inputs)
    amount = next(c for c in draft.candidates if c.value.kind == "amount" and c.value.line == 13)
    assert (amount.section.notation, amount.section.title) == ("2.2", "Tunisia")
    assert amount.value.normal == "20000000"
    assert f"{ID}country/tunisia" in [m.iri for m in amount.entities]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["draft", "--edition", "2025-3"], "error: edition '2025-3' is not YYYY-MM"),
        (["draft", "--edition", "2031-01"], "no edition 2031-01; create it with `edition new`"),
        (
            ["draft", "--edition", "2025-03", "-o", str(REPO / "data/2025-03/draft.tsv")],
            "never written into data/",
        ),
    ],
)
def test_draft_refuses_with_one_line(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, args, env={"EMK_ROOT": str(REPO)})
    assert result.exit_code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (REPO / "data" / "2025-03" / "draft.tsv").exists()
