"""Search: folding, ranking tiers, JSON and HTML answers."""

from __future__ import annotations

import httpx
import pytest

from migration_kg.web.search import EXACT, PREFIX, SUBSTRING, WORD_PREFIX, SearchIndex, fold

ID = "https://w3id.org/eu-migration-kg/id/"


def _index(labels: dict[str, str]) -> SearchIndex:
    return SearchIndex.from_labels((iri, text, "label") for iri, text in labels.items())


def test_an_acronym_matches_but_never_names_the_resource() -> None:
    index = SearchIndex.from_labels(
        [
            ("f", "European Border and Coast Guard Agency", "label"),
            ("f", "Frontex", "altLabel"),
            ("f", "Frontex", "acronym"),
            ("g", "Frontex liaison officer", "label"),
        ]
    )
    hits = [(h.iri, h.label, h.tier, h.acronym) for h in index.search("FRONTEX")]
    assert hits == [
        ("f", "European Border and Coast Guard Agency", EXACT, "Frontex"),
        ("g", "Frontex liaison officer", PREFIX, None),
    ]


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Türkiye", "turkiye"), ("Côte d'Ivoire", "cote d'ivoire"), ("  ÉU  Frontex ", "eu frontex")],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_ranking_exact_prefix_word_substring_then_shorter() -> None:
    index = _index(
        {
            "a": "Spain",  # exact
            "b": "Spain and Morocco dialogue",  # prefix, longer
            "c": "Spain dialogue",  # prefix, shorter
            "d": "Visit to Spain",  # word prefix
            "e": "Hispaniola",  # substring
            "f": "Portugal",  # no match
        }
    )
    hits = index.search("SPAIN")
    assert [h.iri for h in hits] == ["a", "c", "b", "d"]
    assert [h.tier for h in hits] == [EXACT, PREFIX, PREFIX, WORD_PREFIX]
    assert [h.iri for h in index.search("spainx")] == []
    assert [(h.iri, h.tier) for h in index.search("pani")] == [("e", SUBSTRING)]


def test_empty_query_finds_nothing() -> None:
    assert _index({"a": "Spain"}).search("  ") == []


def test_search_folds_accents_on_the_real_data(site: httpx.Client) -> None:
    data = site.get("/search", params={"q": "turkiye"}).json()
    first = data["results"][0]
    assert first["iri"] == ID + "country/turkiye"
    assert first["label"] == "Türkiye"
    assert first["url"] == "/id/country/turkiye"
    upper = site.get("/search", params={"q": "TÜRKIYE", "format": "json"}).json()
    assert upper["results"][0]["iri"] == first["iri"]


def test_search_finds_alternative_labels(site: httpx.Client) -> None:
    results = site.get("/search", params={"q": "10-Point Plan"}).json()["results"]
    assert results[0]["iri"] == ID + "instrument/ten-point-plan-lampedusa"


def test_search_finds_an_acronym_and_says_to_use_it(site: httpx.Client) -> None:
    """Typing the acronym finds the resource first, and every hit names its preferred acronym."""
    results = site.get("/search", params={"q": "frontex"}).json()["results"]
    assert results[0]["iri"] == ID + "org/frontex"
    assert results[0]["acronym"] == "Frontex"
    assert results[0]["label"] == "European Border and Coast Guard Agency"
    by_label = site.get("/search", params={"q": "European Border and Coast"}).json()["results"]
    assert by_label[0]["acronym"] == "Frontex"
    page = site.get("/search", params={"q": "UNHCR"}, headers={"Accept": "text/html"}).text
    assert "<code>UNHCR</code>" in page and 'emk:acronym "Frontex"' in page


def test_search_html_for_browsers(site: httpx.Client) -> None:
    page = site.get("/search", params={"q": "tunisia"}, headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert '<a href="/id/country/tunisia">Tunisia</a>' in page.text
