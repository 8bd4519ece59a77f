"""Pages for people over the real release: home, country and route pages, downloads, queries.

Expected numbers are computed from the data with SPARQL in the test (never hard-coded), so the
tests follow the data as it grows.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

import httpx
import pytest

from migration_kg.serve.engine import QueryEngine
from migration_kg.web.rendering import format_eur

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
# Independent of place-funding.rq: the sum of the commitments that benefit Tunisia, leaving out a
# part of a package that benefits Tunisia too (the package counts its amount).
TUNISIA_FUNDING = """
PREFIX emk: <https://w3id.org/eu-migration-kg/ontology#>
PREFIX schema: <https://schema.org/>
PREFIX country: <https://w3id.org/eu-migration-kg/id/country/>
SELECT (SUM(?v) AS ?total) (COUNT(DISTINCT ?f) AS ?n) WHERE {
  ?f a emk:FundingCommitment ; emk:beneficiary country:tunisia ; emk:amount/schema:value ?v .
  FILTER NOT EXISTS { ?f emk:partOfPackage ?p . ?p emk:beneficiary country:tunisia }
}
"""
# The same, counting only commitments that no other beneficiary shares.
TUNISIA_FUNDING_ALONE = TUNISIA_FUNDING.replace(
    "  FILTER NOT EXISTS { ?f emk:partOfPackage",
    "  FILTER NOT EXISTS { ?f emk:beneficiary ?o . FILTER (?o != country:tunisia) }\n"
    "  FILTER NOT EXISTS { ?f emk:partOfPackage",
)
ROUTE_COUNT = """
PREFIX emk: <https://w3id.org/eu-migration-kg/ontology#>
SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r a emk:MigratoryRoute }
"""
PAGES = [
    "/",
    "/id/country/tunisia",
    "/ontology",
    "/search?q=frontex",
    "/guide",
    "/queries",
    "/query",
    "/downloads",
    "/id/route/central-mediterranean",
]


def _page(site: httpx.Client, path: str) -> str:
    response = site.get(path, headers=BROWSER)
    assert response.status_code == 200, path
    assert response.headers["content-type"].startswith("text/html")
    return response.text


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_accessible_and_has_a_search_box(site: httpx.Client, path: str) -> None:
    html = _page(site, path)
    assert '<html lang="en">' in html
    assert len(re.findall(r"<h1[ >]", html)) == 1
    assert 'role="search"' in html and 'name="q"' in html
    assert all('scope="' in th for th in re.findall(r"<th[ >][^>]*", html)), "th without scope"
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        assert 'role="img"' in svg and "<title" in svg
    assert "https://cdn" not in html and "//fonts.googleapis" not in html


def test_country_page_shows_chart_and_funding_total(
    site: httpx.Client, real_engine: QueryEngine
) -> None:
    ((total, count),) = real_engine.query(TUNISIA_FUNDING).rows
    assert total is not None and count is not None and int(count) > 0
    html = _page(site, "/id/country/tunisia")
    assert '<svg class="chart"' in html
    assert f'data-total="{Decimal(total)}"' in html
    assert format_eur(Decimal(total)) in html
    assert f"in {int(count)} commitments" in html
    ((alone, _),) = real_engine.query(TUNISIA_FUNDING_ALONE).rows
    assert alone is not None and Decimal(alone) < Decimal(total)  # the 2023 package is shared
    assert f'data-total-alone="{Decimal(alone)}"' in html
    assert "Talent Partnership with Tunisia" in html  # emk:partner
    assert "Agreements and partnerships" in html and 'class="timeline"' in html


def test_route_page_gathers_statistics(site: httpx.Client) -> None:
    html = _page(site, "/id/route/central-mediterranean")
    assert '<svg class="chart"' in html
    assert "66,800" in html  # the value with thousands separators
    assert "Irregular border crossings on the Central Mediterranean route in 2024" in html


def test_resource_page_formats_amounts_dates_and_links(site: httpx.Client) -> None:
    html = _page(site, "/id/funding/migration-package-north-africa-2023")
    assert "EUR 325,000,000" in html
    assert 'href="/id/country/tunisia"' in html
    assert "Source report sections" in html
    event = _page(site, "/id/event/2023-09-17-ten-point-plan-lampedusa-presentation")
    # A day is a period: the event links to the day period, named by its label.
    assert '<a href="/id/period/2023-09-17">17 September 2023</a>' in event


def test_the_guide_page_shows_the_querying_guide(site: httpx.Client) -> None:
    html = _page(site, "/guide")
    assert "<h1>Querying the EU Migration Knowledge Graph</h1>" in html
    assert '<code class="language-sparql">' in html and "emk:acronym &quot;Frontex&quot;" in html
    assert 'href="/guide"' in _page(site, "/"), "the site's navigation links the guide"


def test_home_page_counts_from_the_store(site: httpx.Client, real_engine: QueryEngine) -> None:
    ((routes,),) = real_engine.query(ROUTE_COUNT).rows
    html = _page(site, "/")
    assert re.search(rf'migratory route</a></th><td class="num">{int(routes or 0)}</td>', html)
    assert 'href="/id/route/central-mediterranean"' in html
    assert 'href="/queries"' in html


def test_downloads_match_the_manifest(site: httpx.Client, built_release: object) -> None:
    manifest = json.loads((built_release.dist / "manifest.json").read_text())  # type: ignore[attr-defined]
    artefacts = manifest["artefacts"]
    assert len(artefacts) > 3
    html = _page(site, "/downloads")
    for name, info in artefacts.items():
        assert info["sha256"] in html
        body = site.get(f"/downloads/{name}").content
        assert len(body) == info["bytes"]
        assert hashlib.sha256(body).hexdigest() == info["sha256"], name
    assert site.get("/downloads/..%2Fmanifest.json").status_code == 404
    assert site.get("/downloads/nothing.ttl").status_code == 404


def test_named_query_url_in_csv_and_json(site: httpx.Client) -> None:
    listing = _page(site, "/queries")
    assert 'href="/queries/central-med-tunisia-funding"' in listing
    csv = site.get("/queries/central-med-tunisia-funding", headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "commitment,amount,statusLabel,periodLabel"
    data = site.get("/queries/central-med-tunisia-funding?format=json").json()
    assert data["head"]["vars"] == ["commitment", "amount", "statusLabel", "periodLabel"]
    assert len(data["results"]["bindings"]) == len(csv.text.splitlines()) - 1 > 0
    html = _page(site, "/queries/central-med-tunisia-funding")
    assert '<th scope="col">commitment</th>' in html
    assert site.get("/queries/no-such-query").status_code == 404


def test_query_page_uses_a_local_script(site: httpx.Client) -> None:
    html = _page(site, "/query")
    assert "<textarea" in html and 'src="/static/query.js"' in html
    assert "central-med-tunisia-funding" in html  # opens with the catalogue
    script = site.get("/static/query.js")
    assert script.status_code == 200 and "fetch(" in script.text
    assert site.get("/static/site.css").status_code == 200
    for name in ("yasgui.min.js", "yasgui.min.css"):  # vendored, MIT, no CDN
        assert f'"/static/vendor/yasgui/{name}"' in html
        assert site.get(f"/static/vendor/yasgui/{name}").status_code == 200
