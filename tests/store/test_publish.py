"""publish into real stores (Virtuoso 7, Oxigraph server): counts, idempotence, rollback, failure.

Every check reads the store back over its own SPARQL endpoint: triples per versioned graph
against manifest.json, what the pointer graph names, and what ``serve --store`` would serve.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from migration_kg.core.errors import StoreError
from migration_kg.core.settings import Settings
from migration_kg.serve.publish import (
    PublishOptions,
    bulk_loader,
    current_pointer,
    publish,
    rollback,
)
from migration_kg.serve.published import Names, read_pointer
from migration_kg.serve.remote import RemoteEngine
from migration_kg.serve.store_http import StoreClient, StoreUrls
from migration_kg.serve.verify import store_counts
from store_support import Oxigraph, Virtuoso

QUIET = PublishOptions(progress=False)
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
G_DATA = "https://w3id.org/eu-migration-kg/graph/data"


def manifest(settings: Settings) -> dict[str, object]:
    return dict(json.loads((settings.dist / "manifest.json").read_text(encoding="utf-8")))


def versioned_counts(settings: Settings, urls: StoreUrls, writer: Settings) -> dict[str, int]:
    """Triples per release graph as the store holds them under this build's versioned IRIs."""
    build = str(manifest(settings)["build_hash"])
    names = Names(settings.base_iri)
    graphs = sorted(manifest(settings)["triples"])  # type: ignore[call-overload]
    with StoreClient(urls, writer, retries=0) as client:
        found = store_counts(client, [names.version(g, build) for g in graphs])
    return {g: found[names.version(g, build)] for g in graphs}


def served_hash(settings: Settings, query_url: str) -> str:
    """The build ``serve --store`` would serve from this store now."""
    return RemoteEngine.connect(settings, query_url).build_hash


def test_publish_into_virtuoso_counts_match_manifest_and_second_publish_is_a_no_op(
    virtuoso: Virtuoso, real_settings: Settings
) -> None:
    writer = virtuoso.settings(real_settings)
    urls = StoreUrls.around(virtuoso.gsp)
    first = publish(writer, urls, QUIET)
    assert first.action in ("published", "already current")
    assert versioned_counts(real_settings, urls, writer) == manifest(real_settings)["triples"]
    assert served_hash(real_settings, virtuoso.query) == manifest(real_settings)["build_hash"]
    second = publish(writer, urls, QUIET)
    assert second.action == "already current" and second.triples == 0


def test_rollback_on_virtuoso_returns_to_the_previous_release_and_back(
    virtuoso: Virtuoso, real_settings: Settings, fixture_settings: Settings
) -> None:
    urls = StoreUrls.around(virtuoso.gsp)
    publish(virtuoso.settings(fixture_settings), urls, QUIET)
    publish(virtuoso.settings(real_settings), urls, QUIET)  # current: real, previous: fixture
    real, fixture = manifest(real_settings)["build_hash"], manifest(fixture_settings)["build_hash"]
    assert served_hash(real_settings, virtuoso.query) == real
    back = rollback(virtuoso.settings(real_settings), urls, QUIET)
    assert back.action == "rolled back" and back.build_hash == fixture and back.previous == real
    assert served_hash(real_settings, virtuoso.query) == fixture
    # publishing the real release again reloads nothing: its graphs are there and verify
    again = publish(virtuoso.settings(real_settings), urls, QUIET)
    assert again.action == "published" and "not reloaded" in " ".join(again.notes)
    assert served_hash(real_settings, virtuoso.query) == real


def test_bulk_loader_publishes_the_same_graphs_as_gsp(
    virtuoso: Virtuoso, fixture_settings: Settings, real_settings: Settings
) -> None:
    urls = StoreUrls.around(virtuoso.gsp)
    dba = virtuoso.settings(fixture_settings, dba=True)
    build = str(manifest(fixture_settings)["build_hash"])
    names = Names(fixture_settings.base_iri)
    with StoreClient(urls, dba) as client:  # forget the fixture build, so that it is loaded anew
        for graph in manifest(fixture_settings)["triples"]:  # type: ignore[attr-defined]
            client.delete_graph(names.version(graph, build))
        client.delete_graph(names.record(build).value)
    options = replace(QUIET, loader=bulk_loader(dba, virtuoso.isql, virtuoso.load_dir))
    outcome = publish(dba, urls, options)
    assert outcome.action == "published" and not outcome.notes
    assert versioned_counts(fixture_settings, urls, dba) == manifest(fixture_settings)["triples"]
    assert served_hash(fixture_settings, virtuoso.query) == build
    assert not list(virtuoso.load_dir.glob("*.nt"))  # the loader's files are cleaned up
    publish(virtuoso.settings(real_settings), urls, QUIET)  # leave the real release current


def test_publish_into_oxigraph_then_rollback(
    oxigraph: Oxigraph, fixture_settings: Settings, real_settings: Settings
) -> None:
    urls = StoreUrls.around(oxigraph.gsp)
    assert publish(fixture_settings, urls, QUIET).action == "published"
    assert publish(fixture_settings, urls, QUIET).action == "already current"
    outcome = publish(real_settings, urls, replace(QUIET, chunk_triples=1000))
    assert outcome.action == "published" and outcome.triples == sum(
        manifest(real_settings)["triples"].values()  # type: ignore[attr-defined]
    )
    assert (
        versioned_counts(real_settings, urls, real_settings) == manifest(real_settings)["triples"]
    )
    assert (
        rollback(real_settings, urls, QUIET).build_hash == manifest(fixture_settings)["build_hash"]
    )
    assert served_hash(real_settings, oxigraph.query) == manifest(fixture_settings)["build_hash"]


def test_dry_run_writes_nothing(oxigraph: Oxigraph, fixture_settings: Settings) -> None:
    urls = StoreUrls.around(oxigraph.gsp)
    outcome = publish(fixture_settings, urls, replace(QUIET, dry_run=True))
    assert outcome.action == "dry run" and outcome.triples == 62
    with StoreClient(urls, fixture_settings) as client:
        assert client.select(COUNT_ALL)[0]["n"].value == "0"  # type: ignore[union-attr]


def test_store_stopped_mid_load_leaves_the_previous_release_current(
    oxigraph: Oxigraph, fixture_settings: Settings, real_settings: Settings
) -> None:
    urls = StoreUrls.around(oxigraph.gsp)
    publish(fixture_settings, urls, QUIET)
    fixture = manifest(fixture_settings)["build_hash"]

    def stop_store(chunk: int) -> None:
        if chunk == 3:
            oxigraph.process.kill()

    failing = replace(QUIET, chunk_triples=500, retries=2, backoff_s=0.05, on_chunk=stop_store)
    with pytest.raises(StoreError, match="cannot reach the store"):
        publish(real_settings, urls, failing)
    restarted = oxigraph.restart()
    assert current_pointer(real_settings, urls).current == Names(real_settings.base_iri).release(
        str(fixture)
    )
    engine = RemoteEngine.connect(real_settings, restarted.query)
    assert engine.build_hash == fixture
    assert engine.query(COUNT_ALL).rows == [("62",)]  # the fixture release alone, not a mixture
    assert publish(real_settings, urls, QUIET).action == "published"  # and the next try completes
    assert served_hash(real_settings, restarted.query) == manifest(real_settings)["build_hash"]


def test_a_current_release_whose_graphs_were_dropped_is_reloaded(
    oxigraph: Oxigraph, fixture_settings: Settings
) -> None:
    urls = StoreUrls.around(oxigraph.gsp)
    publish(fixture_settings, urls, QUIET)
    build = str(manifest(fixture_settings)["build_hash"])
    with StoreClient(urls, fixture_settings) as client:  # someone drops a graph by hand
        client.delete_graph(Names(fixture_settings.base_iri).version(G_DATA, build))
    again = publish(fixture_settings, urls, QUIET)
    assert again.action == "published"  # not "already current": the store no longer has it all
    assert (
        versioned_counts(fixture_settings, urls, fixture_settings)
        == manifest(fixture_settings)["triples"]
    )


def test_readers_see_one_release_at_every_moment_of_a_switch(
    virtuoso: Virtuoso, real_settings: Settings, fixture_settings: Settings
) -> None:
    urls = StoreUrls.around(virtuoso.gsp)
    publish(virtuoso.settings(fixture_settings), urls, QUIET)
    publish(virtuoso.settings(real_settings), urls, QUIET)
    seen: list[object] = []
    stop = threading.Event()

    def read() -> None:
        with StoreClient(urls, virtuoso.settings(real_settings), retries=0) as client:
            while not stop.is_set() and len(seen) < 5000:
                try:
                    seen.append(read_pointer(client, Names(real_settings.base_iri)).current)
                except StoreError as exc:  # e.g. "the pointer graph names 2 releases"
                    seen.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for _ in range(8):  # each rollback is one switch of the pointer
        rollback(virtuoso.settings(real_settings), urls, QUIET)
    stop.set()
    reader.join(30)
    names = Names(real_settings.base_iri)
    releases = {
        names.release(str(manifest(s)["build_hash"])) for s in (real_settings, fixture_settings)
    }
    assert len(seen) > 20
    assert all(current in releases for current in seen), {repr(s) for s in seen}
