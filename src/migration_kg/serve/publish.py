"""``publish``: load a built release into a store, verify it, then switch "current" in one step.

The flow (serve layer: it reads release artefacts, never the build code):

1. read ``manifest.json`` and the store's pointer (``published``); if the pointer already names
   this build hash, stop: publishing is idempotent;
2. load every release graph under its versioned IRI, in GSP chunks with retries (or, for a
   local Virtuoso, through its bulk loader: ``virtuoso_bulk``) — unless the store already
   holds a complete record of this build that still verifies (a re-publish after a rollback);
3. verify: triples per graph equal the manifest's, and a sample of resources is isomorphic
   (``verify``); then write the release's record graph;
4. switch the pointer in one update operation, keeping the old release as "previous";
5. drop the versioned graphs of releases that are neither current nor previous.

A failure at steps 1 to 3 leaves the pointer as it was (readers keep the previous release); a
failure at 5 only leaves old graphs behind (logged). ``rollback`` swaps current and previous.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyoxigraph as ox
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from migration_kg.core.errors import SourceError, StoreError
from migration_kg.core.settings import Settings
from migration_kg.serve.published import (
    Names,
    Pointer,
    list_releases,
    read_pointer,
    read_release,
    record_triples,
    switch,
)
from migration_kg.serve.release_chunks import ReleaseScan, chunks
from migration_kg.serve.store_http import StoreClient, StoreUrls
from migration_kg.serve.verify import check_counts, check_sample

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
Action = Literal["published", "already current", "dry run", "rolled back", "switched"]
# Loads the release's graphs into the versioned graphs given (GSP by default; or bulk).
Loader = Callable[[StoreClient, Path, dict[str, str], ReleaseScan], None]


@dataclass(frozen=True)
class PublishOptions:
    """How to publish: chunk size, retry policy, what to show."""

    chunk_triples: int = 50_000
    retries: int = 4
    backoff_s: float = 0.5
    timeout_s: float = 300.0
    dry_run: bool = False
    progress: bool = True
    loader: Loader | None = None  # None: the Graph Store Protocol
    on_chunk: Callable[[int], None] | None = None  # called after each chunk (tests, progress)


@dataclass(frozen=True)
class Outcome:
    """What publish or rollback did, for the CLI's one-line summary."""

    action: Action
    build_hash: str
    previous: str | None = None
    triples: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)  # seconds: load, verify, switch…

    def summary(self) -> str:
        was = f" (previous: {self.previous[:12]})" if self.previous else ""
        size = f", {self.triples:,} triples" if self.triples else ""
        return f"{self.action}: build {self.build_hash[:12]}{was}{size} in {self.seconds:.1f} s"


def read_manifest(dist: Path) -> dict[str, Any]:
    """The release's manifest, with its build hash and triples per graph.

    Raises:
        SourceError: missing, not JSON, or without ``build_hash`` and ``triples``.
    """
    path = dist / MANIFEST_FILE
    if not path.is_file():
        raise SourceError(path, "release manifest not found; run `migration-kg build` first")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(path, f"not valid JSON: {exc}") from exc
    for key in ("build_hash", "triples"):
        if not manifest.get(key):
            raise SourceError(path, f"has no {key!r}; rebuild the release")
    return dict(manifest)


def publish(settings: Settings, urls: StoreUrls, options: PublishOptions) -> Outcome:
    """Publish the release in ``settings.dist`` to the store at ``urls`` (see module doc).

    Raises:
        SourceError: the release is missing or malformed.
        StoreError: the store cannot be reached, refuses, lacks GSP, is full, or the loaded
            graphs do not verify; the pointer is then unchanged.
    """
    started = time.monotonic()
    dist, names = settings.dist, Names(settings.base_iri)
    manifest = read_manifest(dist)
    build_hash = str(manifest["build_hash"])
    with _client(urls, settings, options) as client:
        pointer = _first_contact(client, names)
        current = read_release(client, names, pointer.current) if pointer.current else None
        previous = current.build_hash if current else None
        expected = {str(g): int(n) for g, n in manifest["triples"].items()}
        versions = {g: names.version(g, build_hash) for g in expected}
        again = current is not None and current.build_hash == build_hash
        if again and _still_complete(client, expected, versions):
            return Outcome("already current", build_hash, seconds=time.monotonic() - started)
        keep_previous = pointer.previous if again else pointer.current  # never itself
        previous = None if again else previous
        if options.dry_run:
            return _dry_run(build_hash, previous, expected, versions, started)
        stages: dict[str, float] = {}
        notes = _load_verified(client, dist, expected, versions, options, stages)
        with _stage(stages, "switch"):
            record = _ntriples(names, build_hash, manifest)
            client.put_graph(names.record(build_hash).value, record)
            switch(client, names, names.release(build_hash), keep_previous)
        with _stage(stages, "prune"):
            notes += _prune(client, names, {names.release(build_hash), keep_previous})
    total = sum(expected.values())
    took = time.monotonic() - started
    return Outcome("published", build_hash, previous, total, took, notes, stages)


def rollback(settings: Settings, urls: StoreUrls, options: PublishOptions) -> Outcome:
    """Make the previous release current again (and the current one previous).

    Raises:
        StoreError: nothing to roll back to, the previous release's graphs no longer verify
            by count, or the store fails.
    """
    started = time.monotonic()
    names = Names(settings.base_iri)
    with _client(urls, settings, options) as client:
        pointer = _first_contact(client, names)
        if pointer.current is None or pointer.previous is None:
            raise StoreError(f"{urls.query}: no previous release to roll back to")
        target = read_release(client, names, pointer.previous)
        if target is None:
            raise StoreError(f"{urls.query}: the previous release's record is gone")
        current = read_release(client, names, pointer.current)
        was = current.build_hash if current else None
        expected = {str(g): int(n) for g, n in target.manifest["triples"].items()}
        if options.dry_run:
            return Outcome("dry run", target.build_hash, was, notes=["would roll back"])
        check_counts(client, expected, target.versions)
        switch(client, names, pointer.previous, pointer.current)
    took = time.monotonic() - started
    return Outcome("rolled back", target.build_hash, was, seconds=took)


def current_pointer(settings: Settings, urls: StoreUrls) -> Pointer:
    """What the store's pointer names now (for status lines and tests)."""
    with StoreClient(urls, settings, retries=0) as client:
        return read_pointer(client, Names(settings.base_iri))


def _still_complete(
    client: StoreClient, expected: dict[str, int], versions: dict[str, str]
) -> bool:
    """Whether the current release's graphs still hold their counts (nobody dropped them)."""
    try:
        check_counts(client, expected, versions)
    except StoreError as exc:
        log.warning("the current release is incomplete in the store, reloading: %s", exc)
        return False
    return True


def _first_contact(client: StoreClient, names: Names) -> Pointer:
    """Read the pointer without retries: a wrong URL or refused credentials fail at once."""
    retries, client.retries = client.retries, 0
    try:
        return read_pointer(client, names)
    finally:
        client.retries = retries


def _load_verified(
    client: StoreClient,
    dist: Path,
    expected: dict[str, int],
    versions: dict[str, str],
    options: PublishOptions,
    stages: dict[str, float],
) -> list[str]:
    """Load (unless a complete earlier load still counts right) and verify the graphs."""
    scan = ReleaseScan()
    try:
        check_counts(client, expected, versions)
    except StoreError:
        loader = options.loader or _gsp_loader(options)
        with _stage(stages, "load"):
            loader(client, dist, versions, scan)
        notes = []
    else:
        for _ in chunks(dist, options.chunk_triples, scan):  # the sample needs the scan
            pass
        notes = ["graphs of this build were already loaded; verified, not reloaded"]
    if dict(scan.counts) != expected:
        raise SourceError(
            dist / MANIFEST_FILE, "triples per graph differ from the release file; rebuild"
        )
    with _stage(stages, "verify"):
        check_counts(client, expected, versions)
        sampled = check_sample(client, dist, scan, versions)
    log.info("verified counts of %d graphs and %d sampled resources", len(versions), sampled)
    return notes


def _gsp_loader(options: PublishOptions) -> Loader:
    """Upload by GSP: the first chunk of a graph replaces it (PUT), the rest add (POST)."""

    def load(client: StoreClient, dist: Path, versions: dict[str, str], scan: ReleaseScan) -> None:
        total = sum(1 for _ in versions)  # graphs; triples are known only as we read
        started: set[str] = set()
        with _progress(options.progress) as advance:
            for number, chunk in enumerate(chunks(dist, options.chunk_triples, scan)):
                version = versions.get(chunk.graph)
                if version is None:
                    raise SourceError(dist, f"graph <{chunk.graph}> is not in manifest.json")
                body = chunk.ntriples()
                if chunk.graph in started:
                    client.post_graph(version, body)
                else:
                    client.put_graph(version, body)
                    started.add(chunk.graph)
                advance(len(chunk.triples))
                if options.on_chunk is not None:
                    options.on_chunk(number)
        for graph, version in versions.items():
            if graph not in started:  # an empty graph: make sure no older content remains
                client.delete_graph(version)
        log.info("loaded %d graphs", total)

    return load


def bulk_loader(settings: Settings, isql_address: str, directory: Path | None) -> Loader:
    """The Virtuoso bulk loader as publish's loader (see ``virtuoso_bulk``).

    Raises:
        StoreError: no directory was given for the files.
    """
    if directory is None:
        raise StoreError("--bulk-isql needs --bulk-dir: a directory in Virtuoso's DirsAllowed")
    from migration_kg.serve.virtuoso_bulk import bulk_load

    def load(client: StoreClient, dist: Path, versions: dict[str, str], scan: ReleaseScan) -> None:
        bulk_load(settings, isql_address, directory, client, dist, versions, scan)

    return load


@contextmanager
def _stage(stages: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        stages[name] = round(time.monotonic() - started, 3)


@contextmanager
def _progress(show: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress line of triples sent (on a terminal only)."""
    console = Console(stderr=True)
    if not show or not console.is_terminal:
        yield lambda _: None
        return
    columns = (TextColumn("publishing"), BarColumn(), TextColumn("{task.completed:,} triples"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("load", total=None)
        yield lambda n: bar.advance(task, n)


def _ntriples(names: Names, build_hash: str, manifest: dict[str, Any]) -> bytes:
    triples = record_triples(names, build_hash, manifest)
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


def _prune(client: StoreClient, names: Names, keep: set[ox.NamedNode | None]) -> list[str]:
    """Drop the graphs of releases no rollback can reach; failures only leave them behind."""
    dropped: list[str] = []
    try:
        releases = list_releases(client)
        kept = {g for release, (_, graphs) in releases.items() if release in keep for g in graphs}
        for release, (record, graphs) in releases.items():
            if release in keep:
                continue
            for graph in sorted(graphs - kept):  # a graph a kept release names stays
                client.delete_graph(graph)
            client.delete_graph(record.value)
            dropped.append(release.value)
    except StoreError as exc:
        log.warning("could not drop old release graphs: %s", exc)
        return [f"old release graphs left in place: {exc}"]
    return [f"dropped {len(dropped)} older release(s)"] if dropped else []


def _dry_run(
    build_hash: str,
    previous: str | None,
    expected: dict[str, int],
    versions: dict[str, str],
    started: float,
) -> Outcome:
    notes = [f"would load <{versions[g]}> ({expected[g]:,} triples)" for g in sorted(expected)]
    notes.append("then verify and switch the pointer; nothing was written")
    took = time.monotonic() - started
    return Outcome("dry run", build_hash, previous, sum(expected.values()), took, notes)


def _client(urls: StoreUrls, settings: Settings, options: PublishOptions) -> StoreClient:
    return StoreClient(
        urls,
        settings,
        timeout_s=options.timeout_s,
        retries=options.retries,
        backoff_s=options.backoff_s,
    )
