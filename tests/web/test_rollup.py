"""Route and region pages roll up what concerns their countries (issue 17).

The real release plus fixture memberships: routes give departure, transit and destination
countries through sub-properties of ``emk:includesCountry`` (materialised in the inferred graph, as
the build's OWL RL closure does), a region gives plain ``emk:includesCountry``, and the Atlantic
route gives its countries to the Western Mediterranean and Atlantic route as a sub-route. Expected
totals come from independent SPARQL over the same store, never hard-coded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from web_support import LiveServer, start_server

from migration_kg.core.names import DATASET_ARTEFACT, MANIFEST
from migration_kg.core.namespaces import GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY
from migration_kg.serve.engine import QueryEngine
from migration_kg.web.place import place_view
from migration_kg.web.rendering import Linker, TermFormatter, format_eur
from migration_kg.web.rollup import RollupView, rollup_view
from migration_kg.web.search import SearchIndex

ID = "https://w3id.org/eu-migration-kg/id/"
EMK = "https://w3id.org/eu-migration-kg/ontology#"
CENTRAL = ID + "route/central-mediterranean"
NORTH_AFRICA = ID + "region/north-africa"
WMA = ID + "route/western-mediterranean-atlantic"
ROLES = {"departureCountry": "departure country", "transitCountry": "transit country"}
ROLES |= {"destinationCountry": "destination country"}
MEMBERS: dict[str, dict[str, str | None]] = {
    CENTRAL: {"libya": "departureCountry", "tunisia": "departureCountry", "niger": "transitCountry"}
    | {"italy": "destinationCountry", "malta": "destinationCountry"},
    ID + "route/atlantic": {"senegal": "departureCountry", "mauritania": "departureCountry"}
    | {"spain": "destinationCountry"},
    NORTH_AFRICA: {"tunisia": None, "libya": None, "egypt": None, "morocco": None},
}
BROWSER = {"Accept": "text/html"}
# Independent of place-members-funding.rq and rollup.py: the commitments whose beneficiary is the
# place or one of its countries, each once, leaving out a part whose package is one of them too and
# has an amount. ?place is replaced by the IRI in the test.
ROLLUP_TOTAL = """
PREFIX emk: <https://w3id.org/eu-migration-kg/ontology#>
PREFIX schema: <https://schema.org/>
SELECT (SUM(?v) AS ?total) (COUNT(?f) AS ?n) WHERE {
  { SELECT DISTINCT ?f WHERE {
      ?f a emk:FundingCommitment ; emk:beneficiary ?b .
      FILTER(?b = <PLACE> || EXISTS { <PLACE> emk:includesCountry ?b }
             || EXISTS { ?s emk:subRouteOf <PLACE> ; emk:includesCountry ?b })
  } }
  ?f emk:amount/schema:value ?v .
  FILTER NOT EXISTS {
    ?f emk:partOfPackage ?p . ?p emk:amount ?pa ; emk:beneficiary ?pb .
    FILTER(?pb = <PLACE> || EXISTS { <PLACE> emk:includesCountry ?pb }
           || EXISTS { ?s2 emk:subRouteOf <PLACE> ; emk:includesCountry ?pb })
  }
}
"""


def _membership_quads() -> list[ox.Quad]:
    quads = []
    for local, label in ROLES.items():
        prop = ox.NamedNode(EMK + local)
        sub = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subPropertyOf")
        name = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
        ontology = ox.NamedNode(str(GRAPH_ONTOLOGY))
        quads.append(ox.Quad(prop, sub, ox.NamedNode(EMK + "includesCountry"), ontology))
        quads.append(ox.Quad(prop, name, ox.Literal(label, language="en"), ontology))
    for place, members in MEMBERS.items():
        for country, role in members.items():
            target = ox.NamedNode(ID + "country/" + country)
            includes = ox.NamedNode(EMK + "includesCountry")
            if role is None:
                quads.append(ox.Quad(ox.NamedNode(place), includes, target, _g(GRAPH_DATA)))
                continue
            quads.append(
                ox.Quad(ox.NamedNode(place), ox.NamedNode(EMK + role), target, _g(GRAPH_DATA))
            )
            quads.append(ox.Quad(ox.NamedNode(place), includes, target, _g(GRAPH_INFERRED)))
    return quads


def _g(iri: object) -> ox.NamedNode:
    return ox.NamedNode(str(iri))


@pytest.fixture(scope="module")
def engine(built_release: Any) -> QueryEngine:
    store = ox.Store()
    store.bulk_load(path=str(built_release.dist / DATASET_ARTEFACT), format=ox.RdfFormat.TRIG)
    store.extend(_membership_quads())
    manifest = json.loads((built_release.dist / MANIFEST).read_text(encoding="utf-8"))
    return QueryEngine(store, built_release.settings, manifest)


@pytest.fixture(scope="module")
def live(built_release: Any, engine: QueryEngine) -> Iterator[LiveServer]:
    server = start_server(built_release.settings, engine)
    yield server
    server.stop()


def _fmt(engine: QueryEngine) -> TermFormatter:
    labels = SearchIndex.from_engine(engine).labels
    return TermFormatter(labels, Linker(engine.settings.base_iri))


def _rollup(engine: QueryEngine, iri: str) -> RollupView:
    fmt = _fmt(engine)
    view = rollup_view(engine, iri, fmt, place_view(engine, iri, fmt))
    assert view is not None, iri
    return view


def _expected(engine: QueryEngine, iri: str) -> tuple[Decimal, int]:
    rows = engine.query(ROLLUP_TOTAL.replace("PLACE", iri)).rows
    total, count = rows[0]
    return Decimal(total or 0), int(count or 0)


def test_route_lists_its_countries_with_their_roles(engine: QueryEngine) -> None:
    members = {m.country.iri: m for m in _rollup(engine, CENTRAL).members}
    assert set(members) == {ID + "country/" + c for c in MEMBERS[CENTRAL]}
    assert [r.text for r in members[ID + "country/niger"].roles] == ["transit country"]
    assert [r.text for r in members[ID + "country/italy"].roles] == ["destination country"]


def test_route_takes_the_countries_of_its_sub_routes(engine: QueryEngine) -> None:
    members = {m.country.iri: m for m in _rollup(engine, WMA).members}
    assert ID + "country/senegal" in members
    assert [v.iri for v in members[ID + "country/senegal"].via] == [ID + "route/atlantic"]


@pytest.mark.parametrize("iri", [CENTRAL, NORTH_AFRICA, WMA])
def test_rollup_total_counts_each_commitment_once(engine: QueryEngine, iri: str) -> None:
    view = _rollup(engine, iri)
    total, count = _expected(engine, iri)
    assert count > 0
    assert (view.total, view.counted) == (total, count)
    listed = [c.value.iri for c in view.commitments]
    assert len(listed) == len(set(listed))


def test_a_package_for_several_countries_is_one_amount(engine: QueryEngine) -> None:
    """The 2023 package benefits Tunisia, Morocco, Libya and Egypt: once on North Africa's page."""
    package = ID + "funding/migration-package-north-africa-2023"
    rows = [c for c in _rollup(engine, NORTH_AFRICA).commitments if c.value.iri == package]
    assert len(rows) == 1
    assert {b.iri for b in rows[0].beneficiaries} == {
        ID + "country/" + c for c in ("tunisia", "morocco", "libya", "egypt")
    }
    assert rows[0].package is None and not rows[0].shared


def test_a_part_of_a_listed_package_is_not_added(engine: QueryEngine) -> None:
    part = ID + "funding/talent-partnerships-amif-mpf"
    rows = [c for c in _rollup(engine, NORTH_AFRICA).commitments if c.value.iri == part]
    assert rows and rows[0].package is not None
    assert rows[0].package.iri == ID + "funding/talent-partnerships-eu-funded-projects"
    assert rows[0].shared  # Pakistan shares it, outside North Africa


def test_partnerships_and_timeline_name_the_countries(engine: QueryEngine) -> None:
    view = _rollup(engine, CENTRAL)
    frameworks = {f.iri: [c.iri for c in countries] for f, _, countries in view.cooperation}
    assert frameworks[ID + "cooperation/talent-partnership-tunisia"] == [ID + "country/tunisia"]
    assert view.timeline and all(r.countries for r in view.timeline)
    fmt = _fmt(engine)
    own = {t.value.iri for t in place_view(engine, CENTRAL, fmt).timeline}
    assert not own & {r.item.value.iri for r in view.timeline}


def test_a_country_has_no_rollup(engine: QueryEngine) -> None:
    iri = ID + "country/tunisia"
    fmt = _fmt(engine)
    assert rollup_view(engine, iri, fmt, place_view(engine, iri, fmt)) is None


@pytest.mark.parametrize("path", ["/id/route/central-mediterranean", "/id/region/north-africa"])
def test_page_shows_the_rollup_labelled_with_its_total(
    live: LiveServer, engine: QueryEngine, path: str
) -> None:
    with httpx.Client(base_url=live.url, timeout=30, trust_env=False) as http:
        html = http.get(path, headers=BROWSER).text
    assert "Concerning its countries" in html
    assert "does not name" in html
    total, _ = _expected(engine, ID + path.removeprefix("/id/"))
    stated = re.search(r'data-rollup-total="([0-9.]+)">([^<]+)<', html)
    assert stated is not None
    assert Decimal(stated.group(1)) == total
    assert stated.group(2) == format_eur(total)


PLACES = """
PREFIX emk: <https://w3id.org/eu-migration-kg/ontology#>
SELECT DISTINCT ?p WHERE { { ?p a emk:MigratoryRoute } UNION { ?p a emk:Region } } ORDER BY ?p
"""
HAS_MEMBERS = """
PREFIX emk: <https://w3id.org/eu-migration-kg/ontology#>
ASK { { <PLACE> emk:includesCountry ?c }
      UNION { ?s emk:subRouteOf <PLACE> ; emk:includesCountry ?c } }
"""


def test_real_route_and_region_pages_roll_up_as_the_data_says(
    site: httpx.Client, real_engine: QueryEngine
) -> None:
    """On the real graph: a page shows the roll-up exactly when the data gives the place
    countries, and then with the total the independent query computes."""
    places = [row[0] for row in real_engine.query(PLACES).rows if row[0]]
    assert len(places) >= 6
    for iri in places:
        html = site.get(iri.removeprefix(ID.removesuffix("id/")), headers=BROWSER).text
        has_members = real_engine.query(HAS_MEMBERS.replace("PLACE", iri)).boolean
        assert ("Concerning its countries" in html) == has_members, iri
        if has_members:
            total, _ = _expected(real_engine, iri)
            stated = re.search(r'data-rollup-total="([0-9.]+)"', html)
            assert stated is not None and Decimal(stated.group(1)) == total, iri
