"""The pages in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

One browser for the module, one fresh context per test. Every request that does not go to the
local server is aborted and recorded, and every console error is recorded; each test asserts
that both lists are empty. Screenshots go to build/screenshots/ for people to look at.

Chromium is installed by ``scripts/setup test`` (CI runs it); when it is missing these tests
fail with that instruction rather than skip, so a green run always means the pages were seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect, sync_playwright
from web_support import LiveServer

from migration_kg.serve.engine import QueryEngine
from migration_kg.web.rendering import format_eur
from migration_kg.web.security import PAGE_POLICY

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
# The flags this machine needs (python.md): no sandbox as root, no GPU, and no background
# connections to Google's hosts, which the closed network would refuse.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
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


# Records every Content-Security-Policy violation of the page (Chromium also logs them).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


@dataclass
class Watch:
    """What a page did that it should not: requests off this machine, console errors, CSP
    violations (the server's policy allows only what the pages use: web/security.py)."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tab: Page | None = None

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests left 127.0.0.1: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"
        violations = self.tab.evaluate("window.__cspViolations") if self.tab else []
        assert violations == [], f"Content-Security-Policy violations: {violations}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `scripts/setup test` (as root it installs Debian's "
            "chromium) to run the browser tests",
            pytrace=False,
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Browser, real_live: LiveServer) -> Iterator[tuple[Page, Watch]]:
    watch = Watch()
    context = browser.new_context(base_url=real_live.url, service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)

    def guard(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            watch.outside.append(url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watch.errors.append(f"{message.text} ({message.location.get('url', '')})")

    context.route("**/*", guard)
    context.add_init_script(CSP_WATCH)
    tab = context.new_page()
    watch.tab = tab
    tab.on("console", console)
    tab.on("pageerror", lambda exc: watch.errors.append(f"uncaught: {exc}"))
    yield tab, watch
    context.close()


def _shot(tab: Page, name: str) -> None:
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_home_page_loads(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    response = tab.goto("/")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == PAGE_POLICY
    expect(tab.locator("h1")).to_have_text("EU Migration Knowledge Graph")
    expect(tab.get_by_role("link", name="Central Mediterranean").first).to_be_visible()
    _shot(tab, "home")
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
    _shot(tab, f"search-{slug}")
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
    _shot(tab, f"country-{slug}")
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
    _shot(tab, "query")
    watch.assert_clean()
