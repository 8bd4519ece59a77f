"""History on the web: published releases for download, "What changed", changes on place pages.

The server serves the test edition 2025-06 (tests/editions_support.py) with the real 2025-03
release published in its archive, as `migration-kg release` would have left it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rdflib import Graph, Namespace
from rdflib.namespace import RDF
from web_support import LiveServer, start_server

from editions_support import ID, RESOURCES, SecondEdition
from migration_kg.core.settings import Settings
from migration_kg.editions.diff import diff_releases
from migration_kg.editions.diff_render import render_json
from migration_kg.editions.releases import ReleaseDir, publish
from migration_kg.serve.engine import QueryEngine

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
OLD, NEW = "0.1.0+2025-03", "0.1.0+2025-06"
CS = Namespace("http://purl.org/vocab/changeset/schema#")


@pytest.fixture(scope="module")
def archive(second_edition: SecondEdition, tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = tmp_path_factory.mktemp("archive")
    publish(second_edition.old, archive)
    (archive / OLD / "not-listed.txt").write_text("not in the manifest", encoding="utf-8")
    return archive


@pytest.fixture(scope="module")
def history_client(second_edition: SecondEdition, archive: Path) -> Iterator[httpx.Client]:
    settings = Settings(root=second_edition.settings.root, dist_dir=second_edition.new,
                        releases_dir=archive)  # fmt: skip
    server: LiveServer = start_server(settings, QueryEngine.from_release(settings))
    try:
        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as client:
            yield client
    finally:
        server.stop()


def test_every_published_release_is_offered_for_download(
    history_client: httpx.Client, second_edition: SecondEdition, archive: Path
) -> None:
    page = history_client.get("/releases", headers=BROWSER)
    assert page.status_code == 200
    assert page.text.index(NEW) < page.text.index(OLD)  # newest first
    for version, folder in ((OLD, archive / OLD), (NEW, second_edition.new)):
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        for name, entry in manifest["artefacts"].items():
            assert f'href="/release/{version}/{name}"' in page.text
            response = history_client.get(f"/release/{version}/{name}")
            assert response.status_code == 200, name
            assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
    assert (
        history_client.get(f"/release/{OLD}/emk.ttl")
        .headers["content-type"]
        .startswith("text/turtle")
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"/release/{OLD}/not-listed.txt", f"release {OLD} has no file 'not-listed.txt'"),
        (f"/release/{OLD}/nothing.ttl", "has no file 'nothing.ttl'"),
        ("/release/9.9.9/emk.ttl", "no release '9.9.9'"),
    ],
)
def test_only_listed_files_of_known_releases(
    history_client: httpx.Client, path: str, message: str
) -> None:
    response = history_client.get(path)
    assert response.status_code == 404
    assert message in response.text


def test_what_changed_page_shows_the_new_edition_by_kind(history_client: httpx.Client) -> None:
    page = history_client.get("/changes", headers=BROWSER)
    assert page.status_code == 200
    assert f"What changed from {OLD} to {NEW}" in page.text
    headings = ("Revised figures (1)", "New commitments (1)", "New events (1)",
                "Removed next steps (1)", "Next steps done (1)", "Status changes (1)")  # fmt: skip
    for heading in headings:
        assert heading in page.text
    for resources in RESOURCES.values():
        for iri in resources:
            assert iri.removeprefix(ID).split("/")[-1] in page.text
    assert re.search(r"<li class=\"removed\">.*status:ongoing", page.text)
    assert "Derived graphs" in page.text


def test_changes_in_machine_forms(
    history_client: httpx.Client, second_edition: SecondEdition, archive: Path
) -> None:
    expected = render_json(
        diff_releases(ReleaseDir.open(archive / OLD), ReleaseDir.open(second_edition.new))
    )
    assert history_client.get(f"/changes/{OLD}/{NEW}", params={"format": "json"}).text == expected
    turtle = history_client.get(f"/changes/{OLD}/{NEW}", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=turtle.text, format="turtle")
    assert len(set(graph.subjects(RDF.type, CS.ChangeSet))) == len(json.loads(expected)["changes"])
    markdown = history_client.get(f"/changes/{OLD}/{NEW}", params={"format": "md"})
    assert markdown.text.startswith(f"# What changed from {OLD} to {NEW}")
    bad = history_client.get("/changes", params={"format": "pdf"})
    assert bad.status_code == 400 and "format" in bad.text


def _changes_section(html: str) -> str:
    start = html.index('id="changes-h"')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            "country/tunisia",
            ["commitment added", "event added", "next step done", "status changed", "new source"],
        ),
        ("route/central-mediterranean", ["revised figure", "new source"]),
    ],
)
def test_place_pages_list_the_changes_that_concern_them(
    history_client: httpx.Client, page: str, expected: list[str]
) -> None:
    html = history_client.get(f"/id/{page}", headers=BROWSER).text
    section = _changes_section(html)
    assert f"Changes since release {OLD}" in section
    listed = re.findall(r'<code class="iri">([^<]+)</code>', section)
    wanted = [
        iri for kind in expected for iri in RESOURCES[kind] if page in iri or kind != "new source"
    ]
    assert len(listed) == len(wanted), listed
    for iri in wanted:
        assert iri.rsplit("/", 1)[-1] in section
    assert "libya-technical-dialogue-continuation" not in section


def test_one_release_and_no_archive(
    tmp_path: Path, real_engine: QueryEngine, built_release: Any
) -> None:
    settings = Settings(dist_dir=built_release.settings.dist, releases_dir=tmp_path / "none")
    server = start_server(settings, real_engine)
    try:
        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as client:
            version = json.loads((settings.dist / "manifest.json").read_text("utf-8"))["version"]
            assert client.get(f"/release/{version}/manifest.json").status_code == 200
            assert "nothing to compare yet" in client.get("/changes", headers=BROWSER).text
            assert 'id="changes-h"' not in client.get("/id/country/tunisia", headers=BROWSER).text
    finally:
        server.stop()
