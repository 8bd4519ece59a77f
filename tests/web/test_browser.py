"""The pages in a real browser: headless Chromium driven by Playwright (browser_support.py).

Each test asserts that no request left 127.0.0.1 and no console error occurred. Screenshots go
to build/screenshots/ for people to look at.
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from browser_support import Watch, shot
from playwright.sync_api import Page, expect

from migration_kg.serve.engine import QueryEngine
from migration_kg.web.rendering import format_eur
from migration_kg.web.security import PAGE_POLICY

# Independent of the page's own query: the commitments that benefit the country, leaving out a
# part of a package that benefits it too (the package counts its amount).
FUNDING = """
PREFIX emk: <https://w3id.org/eu-migration-kg/ontology#>
PREFIX schema: <https://schema.org/>
SELECT (SUM(?v) AS ?total) WHERE {
  ?f a emk:FundingCommitment ; emk:beneficiary <%(iri)s> ; emk:amount/schema:value ?v .
  FILTER NOT EXISTS { ?f emk:partOfPackage ?p . ?p emk:beneficiary <%(iri)s> }
}
"""
OBSERVATIONS = """
PREFIX emk: <https://w3id.org/eu-migration-kg/ontology#>
SELECT (COUNT(?o) AS ?n) WHERE { ?o emk:refArea <%(iri)s> }
"""
COUNTRY = "https://w3id.org/eu-migration-kg/id/country/"


def test_home_page_loads(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    response = tab.goto("/")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == PAGE_POLICY
    expect(tab.locator("h1")).to_have_text("EU Migration Knowledge Graph")
    expect(tab.get_by_role("link", name="Central Mediterranean").first).to_be_visible()
    shot(tab, "home")
    watch.assert_clean()


# Typed without the diacritic: search ignores accents. Tunisia has statistics, so a chart.
@pytest.mark.parametrize(
    ("typed", "slug", "label"),
    [("turkiye", "turkiye", "Türkiye"), ("tunisia", "tunisia", "Tunisia")],
)
def test_search_opens_a_country_page_with_chart_and_funding(
    page: tuple[Page, Watch], real_engine: QueryEngine, typed: str, slug: str, label: str
) -> None:
    iri = {"iri": COUNTRY + slug}
    ((total,),) = real_engine.query(FUNDING % iri).rows
    ((observations,),) = real_engine.query(OBSERVATIONS % iri).rows
    assert total is not None
    tab, watch = page
    tab.goto("/")
    tab.get_by_role("searchbox", name="Search").fill(typed)
    tab.get_by_role("button", name="Search").click()
    tab.wait_for_url(re.compile(rf"/search\?q={typed}$"))
    shot(tab, f"search-{slug}")
    tab.locator("main table").get_by_role("link", name=label, exact=True).click()
    tab.wait_for_url(re.compile(rf"/id/country/{slug}$"))
    expect(tab.locator("h1")).to_contain_text(label)
    if int(observations or 0) > 0:
        chart = tab.locator("svg.chart").first
        expect(chart).to_be_visible()
        assert chart.get_attribute("role") == "img"
    else:
        expect(tab.get_by_text("No statistics with this reference area.")).to_be_visible()
    amount = tab.locator("[data-total]")
    expect(amount).to_have_attribute("data-total", str(Decimal(total)))
    expect(amount).to_have_text(format_eur(Decimal(total)))
    shot(tab, f"country-{slug}")
    watch.assert_clean()


def test_query_page_runs_a_catalogue_query_in_yasgui(page: tuple[Page, Watch]) -> None:
    """The vendored YASGUI opens a named query in a tab, runs it against /sparql, shows rows."""
    tab, watch = page
    sparql: list[str] = []
    tab.on("request", lambda r: sparql.append(r.url) if "/sparql" in r.url else None)
    response = tab.goto("/query")
    assert response is not None
    assert response.headers["content-security-policy"] == PAGE_POLICY
    expect(tab.locator("#yasgui .yasqe .CodeMirror").first).to_be_visible()
    expect(tab.locator("#query-text")).to_be_hidden()
    tab.locator("#example").select_option("central-med-tunisia-funding")
    active = tab.locator("#yasgui .tabPanel.active")
    expect(tab.locator("#yasgui .tabsList .tab.active")).to_contain_text("Tunisia")
    expect(active.locator(".CodeMirror")).to_contain_text("PREFIX emk:")
    active.locator(".yasqe_queryButton").click()
    rows = active.locator(".yasr table tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 0
    expect(active.locator(".yasr table thead")).to_contain_text("commitment")
    # Drag a column's grip: the resizer writes its dragging style (allowed by its hash).
    grip = active.locator(".grip-handle .grip-resizable").first
    box = grip.bounding_box()
    assert box is not None
    tab.mouse.move(box["x"] + box["width"] / 2, box["y"] + 5)
    tab.mouse.down()
    tab.mouse.move(box["x"] + 40, box["y"] + 5, steps=4)
    assert tab.evaluate("document.querySelectorAll('head style').length") >= 2
    tab.mouse.up()
    assert sparql and all(urlsplit(u).path == "/sparql" for u in sparql), sparql
    shot(tab, "query")
    watch.assert_clean()
