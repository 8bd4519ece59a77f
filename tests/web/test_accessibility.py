"""WCAG 2.1 A and AA on every page type, checked by axe-core in headless Chromium (issue 17).

axe-core is pinned in ``tests/a11y/package-lock.json`` and installed there by
``scripts/setup test`` (``npm ci``); the test injects its ``axe.min.js`` into each page after the
page has settled and fails on any violation, listing rule, impact and elements. The query page is
checked twice: as loaded (YASGUI with its first tab) and after running a query (YASGUI's results
table). Without the file the test fails with the instruction, so a green run means axe looked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import Watch, shot
from playwright.sync_api import Page, expect

AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# One URL per page type the site serves to people.
PAGES = {
    "home": "/",
    "resource": "/id/funding/migration-package-north-africa-2023",
    "country": "/id/country/tunisia",
    "route": "/id/route/central-mediterranean",
    "region": "/id/region/north-africa",
    "section": "/id/report/migration-state-of-play/2025-03/section/pact",
    "ontology": "/ontology",
    "ontology-module": "/ontology/events",
    "search": "/search?q=frontex",
    "search-empty": "/search?q=zzzz",
    "queries": "/queries",
    "named-query": "/queries/central-med-tunisia-funding",
    "downloads": "/downloads",
    "not-found": "/id/country/atlantis",
    "query": "/query",
}
NOT_FOUND = {"not-found"}


def violations(tab: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now."""
    if not AXE.is_file():
        pytest.fail(
            f"{AXE} is missing: run `scripts/setup test` (npm ci in tests/a11y)", pytrace=False
        )
    # Evaluated through the DevTools protocol: a <script> tag added to the page would be
    # inline code, which the pages' Content-Security-Policy rightly blocks.
    tab.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = tab.evaluate(
        """async (tags) => {
            const result = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ") + " " +
                    n.any.concat(n.all).map((c) => c.message).join("; ")),
            }));
        }""",
        WCAG21_AA,
    )
    return found


def _report(found: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']} — {v['nodes'][:5]}" for v in found)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_type_has_no_wcag_violations(page: tuple[Page, Watch], name: str) -> None:
    tab, watch = page
    response = tab.goto(PAGES[name])
    assert response is not None
    assert response.status == (404 if name in NOT_FOUND else 200), name
    tab.wait_for_load_state("networkidle")
    if name == "query":
        expect(tab.locator("#yasgui .yasqe .CodeMirror").first).to_be_visible()
    found = violations(tab)
    assert found == [], f"{name}: {len(found)} violation(s)\n{_report(found)}"
    if name in NOT_FOUND:  # the browser logs the page's own 404 status as a console error
        watch.errors = [e for e in watch.errors if "status of 404" not in e]
    watch.assert_clean()


def test_query_results_have_no_wcag_violations(page: tuple[Page, Watch]) -> None:
    """YASGUI after a run: the results table, its toolbar and the response plugins."""
    tab, watch = page
    tab.goto("/query")
    tab.locator("#example").select_option("central-med-tunisia-funding")
    active = tab.locator("#yasgui .tabPanel.active")
    active.locator(".yasqe_queryButton").click()
    expect(active.locator(".yasr table tbody tr").first).to_be_visible()
    found = violations(tab)
    assert found == [], f"query results: {len(found)} violation(s)\n{_report(found)}"
    shot(tab, "query-results-axe")
    watch.assert_clean()
