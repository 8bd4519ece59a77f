"""A built release read back as N-Triples chunks per graph, for upload to a store.

Read by ``publish`` from ``dist/`` (``emk.nq`` when present, else ``emk.trig``), streamed, so a
million-quad release never sits in memory as Python objects. Each chunk is one GSP request.
A blank node is scoped to the document it is sent in, so every triple that mentions a blank
node is held back and sent with all the triples connected to it through blank nodes (one
component, never split); the rest go out in order. The reader also counts triples per graph
and picks a deterministic sample of subjects per graph for the isomorphism check.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from migration_kg.core.errors import SourceError

RELEASE_FILES = (("emk.nq", ox.RdfFormat.N_QUADS), ("emk.trig", ox.RdfFormat.TRIG))
SAMPLE_PER_GRAPH = 12


@dataclass(frozen=True)
class Chunk:
    """Triples of one release graph, as one N-Triples document."""

    graph: str
    triples: list[ox.Triple]

    def ntriples(self) -> bytes:
        return ox.serialize(self.triples, format=ox.RdfFormat.N_TRIPLES) or b""


@dataclass
class ReleaseScan:
    """What reading the release found: triples and sampled subjects per graph."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, list[tuple[bytes, str]]] = field(default_factory=lambda: defaultdict(list))
    blank_triples: dict[str, list[ox.Triple]] = field(default_factory=lambda: defaultdict(list))

    def sample(self, graph: str) -> list[str]:
        """The sampled subject IRIs of ``graph``, in a stable order."""
        return sorted({iri for _, iri in self.samples.get(graph, [])})

    def _offer(self, graph: str, subject: ox.NamedNode) -> None:
        """Keep the subjects with the smallest hashes: the same sample on every run."""
        key = hashlib.blake2b(subject.value.encode(), digest_size=8).digest()
        heap = self.samples[graph]
        entry = (_negate(key), subject.value)
        if len(heap) < SAMPLE_PER_GRAPH:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)


def release_file(dist: Path) -> tuple[Path, ox.RdfFormat]:
    """The release's dataset file.

    Raises:
        SourceError: neither ``emk.nq`` nor ``emk.trig`` is in ``dist`` (not built).
    """
    for name, fmt in RELEASE_FILES:
        if (dist / name).is_file():
            return dist / name, fmt
    raise SourceError(
        dist / RELEASE_FILES[0][0], "release file not found; run `migration-kg build`"
    )


def read_quads(dist: Path) -> Iterator[ox.Quad]:
    """Every quad of the release, streamed.

    Raises:
        SourceError: the file does not parse (with line and column).
    """
    path, fmt = release_file(dist)
    try:
        yield from ox.parse(path=str(path), format=fmt)
    except SyntaxError as exc:
        raise SourceError(path, str(exc), exc.lineno, exc.offset) from exc


def chunks(dist: Path, size: int, scan: ReleaseScan) -> Iterator[Chunk]:
    """The release as chunks of at most ``size`` triples (a blank-node component may exceed it).

    Fills ``scan`` as it goes (complete once the iterator is exhausted).

    Raises:
        SourceError: the file does not parse, or has triples outside the named graphs.
    """
    pending: dict[str, list[ox.Triple]] = defaultdict(list)
    last: ox.NamedNode | ox.BlankNode | ox.Triple | None = None
    for quad in read_quads(dist):
        graph = quad.graph_name
        if not isinstance(graph, ox.NamedNode):
            raise SourceError(release_file(dist)[0], "a triple outside the named graphs")
        name, triple = graph.value, quad.triple
        scan.counts[name] += 1
        if isinstance(triple.subject, ox.NamedNode) and triple.subject != last:
            scan._offer(name, triple.subject)  # the release lists each subject's triples together
        last = triple.subject
        if isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode):
            scan.blank_triples[name].append(triple)
            continue
        batch = pending[name]
        batch.append(triple)
        if len(batch) >= size:
            yield Chunk(name, batch)
            pending[name] = []
    for name, batch in pending.items():
        if batch:
            yield Chunk(name, batch)
    for name, held in scan.blank_triples.items():
        yield from _component_chunks(name, held, size)


def _component_chunks(graph: str, triples: list[ox.Triple], size: int) -> Iterator[Chunk]:
    """Pack the blank-node components of ``triples`` into chunks, never splitting one."""
    parent: dict[str, str] = {}

    def root(label: str) -> str:
        parent.setdefault(label, label)
        while parent[label] != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    def labels(triple: ox.Triple) -> list[str]:
        return [t.value for t in (triple.subject, triple.object) if isinstance(t, ox.BlankNode)]

    for triple in triples:
        first, *rest = labels(triple)
        for other in rest:
            parent[root(other)] = root(first)
    components: dict[str, list[ox.Triple]] = defaultdict(list)
    for triple in triples:
        components[root(labels(triple)[0])].append(triple)
    batch: list[ox.Triple] = []
    for component in components.values():
        if batch and len(batch) + len(component) > size:
            yield Chunk(graph, batch)
            batch = []
        batch.extend(component)
    if batch:
        yield Chunk(graph, batch)


def _negate(key: bytes) -> bytes:
    """Order keys in reverse, so that Python's min-heap keeps the smallest hashes."""
    return bytes(255 - b for b in key)
