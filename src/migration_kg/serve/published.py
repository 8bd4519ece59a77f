"""What a store says is published: the pointer graph, release records and versioned graphs.

The layout publish writes and the remote backend reads (serve layer; both sides use this):

* each release graph is loaded under a **versioned IRI**, ``<graph>/build/<hash16>``;
* a **record graph** ``<base>graph/publication/<hash16>`` says that release
  ``<base>publication/<hash16>`` has this build hash, this manifest (JSON), and which versioned
  graph holds which release graph. It is written only once every graph is loaded and verified,
  so a record means "complete";
* the **pointer graph** ``<base>graph/current`` holds two triples: ``<base>publication/current``
  ``pub:release`` the current release and ``pub:previous`` the one before (for rollback).

Switching is one SPARQL Update operation on the pointer graph (``publish-switch.ru``): a
DELETE/INSERT that Virtuoso and Oxigraph each run as one transaction, so a reader sees the old
pointer or the new one, never neither or both. Readers resolve the pointer once and then read
that release's versioned graphs, which stay in place until two more releases are published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from migration_kg.core.errors import StoreError
from migration_kg.core.queries import internal_query
from migration_kg.serve.results_io import Term
from migration_kg.serve.sparql_rewrite import with_values
from migration_kg.serve.store_http import StoreClient

PUB = "https://w3id.org/eu-migration-kg/publish#"


def short_hash(build_hash: str) -> str:
    return build_hash[:16]


@dataclass(frozen=True)
class Names:
    """The IRIs of the publishing layout, under one base IRI."""

    base: str

    @property
    def pointer(self) -> ox.NamedNode:
        return ox.NamedNode(f"{self.base}graph/current")

    @property
    def current(self) -> ox.NamedNode:
        return ox.NamedNode(f"{self.base}publication/current")

    def release(self, build_hash: str) -> ox.NamedNode:
        return ox.NamedNode(f"{self.base}publication/{short_hash(build_hash)}")

    def record(self, build_hash: str) -> ox.NamedNode:
        return ox.NamedNode(f"{self.base}graph/publication/{short_hash(build_hash)}")

    def version(self, graph: str, build_hash: str) -> str:
        return f"{graph}/build/{short_hash(build_hash)}"

    def record_graph_of(self, release: ox.NamedNode) -> ox.NamedNode:
        """The record graph of a release: …/publication/<h> is in …/graph/publication/<h>."""
        return ox.NamedNode(f"{self.base}graph/publication/{release.value.rsplit('/', 1)[-1]}")


@dataclass(frozen=True)
class Release:
    """One published release as its record describes it."""

    iri: ox.NamedNode
    build_hash: str
    manifest: dict[str, Any]
    versions: dict[str, str]  # release graph IRI → versioned graph IRI


@dataclass(frozen=True)
class Pointer:
    """The current and previous release IRIs named by the pointer graph (None: none)."""

    current: ox.NamedNode | None
    previous: ox.NamedNode | None


def read_pointer(client: StoreClient, names: Names) -> Pointer:
    """The pointer graph's content (both None when nothing was ever published).

    Raises:
        StoreError: the store cannot be queried, or the pointer graph is not one release.
    """
    query = with_values(
        internal_query("publish-current.rq"), [{"pointer": names.pointer, "current": names.current}]
    )
    rows = client.select(query)
    if len(rows) > 1:
        raise StoreError(f"{client.urls.query}: the pointer graph names {len(rows)} releases")
    if not rows:
        return Pointer(None, None)
    current, previous = rows[0].get("release"), rows[0].get("previous")
    return Pointer(_named(current), _named(previous))


def read_release(client: StoreClient, names: Names, release: ox.NamedNode) -> Release | None:
    """The record of ``release``, or None if the store has none (never completed).

    Raises:
        StoreError: the store cannot be queried or the record's manifest is not JSON.
    """
    bound = {"release": release, "record": names.record_graph_of(release)}
    rows = client.select(with_values(internal_query("publish-record.rq"), [bound]))
    if not rows:
        return None
    try:
        manifest = json.loads(str(_value(rows[0]["manifest"])))
    except ValueError as exc:
        raise StoreError(f"{client.urls.query}: release {release.value}: bad manifest") from exc
    versions = {_value(r["graph"]): _value(r["version"]) for r in rows}
    return Release(release, _value(rows[0]["hash"]), manifest, versions)


def record_triples(names: Names, build_hash: str, manifest: dict[str, Any]) -> list[ox.Triple]:
    """The record of a release whose graphs are all loaded and verified."""
    release = names.release(build_hash)
    pub = {n: ox.NamedNode(PUB + n) for n in ("buildHash", "manifest", "graph", "versionOf")}
    triples = [
        ox.Triple(release, pub["buildHash"], ox.Literal(build_hash)),
        ox.Triple(release, pub["manifest"], ox.Literal(json.dumps(manifest, sort_keys=True))),
    ]
    for graph in sorted(manifest["triples"]):
        version = ox.NamedNode(names.version(graph, build_hash))
        triples += [
            ox.Triple(release, pub["graph"], version),
            ox.Triple(version, pub["versionOf"], ox.NamedNode(graph)),
        ]
    return triples


def switch(
    client: StoreClient, names: Names, release: ox.NamedNode, previous: ox.NamedNode | None
) -> None:
    """Make ``release`` current in one update operation, keeping ``previous`` for rollback.

    Raises:
        StoreError: the update failed (the pointer is then unchanged) or did not take.
    """
    row = {
        "pointer": names.pointer,
        "current": names.current,
        "release": release,
        "previous": previous,
    }
    client.update(with_values(internal_query("publish-switch.ru"), [row]))
    after = read_pointer(client, names)
    if after.current != release:
        raise StoreError(f"{client.urls.update}: the switch to {release.value} did not take")


def list_releases(client: StoreClient) -> dict[ox.NamedNode, tuple[ox.NamedNode, set[str]]]:
    """Every release record in the store: release IRI → (record graph, versioned graphs)."""
    found: dict[ox.NamedNode, tuple[ox.NamedNode, set[str]]] = {}
    for row in client.select(internal_query("publish-releases.rq")):
        release, record = row["release"], row["record"]
        if isinstance(release, ox.NamedNode) and isinstance(record, ox.NamedNode):
            found.setdefault(release, (record, set()))[1].add(_value(row["version"]))
    return found


def _named(term: Term | None) -> ox.NamedNode | None:
    return term if isinstance(term, ox.NamedNode) else None


def _value(term: Term) -> str:
    return str(getattr(term, "value", term))
