"""An optional, bounded result cache for the immutable graph served by one build.

A release never changes while it is served, so the bytes of an answer are a function of the
build, the query text, the protocol's dataset parameters and the response format: repeating a
query can skip the engine entirely and run at HTTP speed. Off unless asked for (``serve --cache``
or ``EMK_RESULT_CACHE=1``) so that benchmarks and operators see cold numbers by default. Every key
includes the build hash, so answers from an earlier build can never be served. Memory is bounded:
least recently used entries go first once ``max_bytes`` of bodies are held, and a body larger
than a sixteenth of that is never kept. Queries whose answers may change between runs (RAND, NOW,
UUID, STRUUID, BNODE, SERVICE) are not cached. One cache per server process; not thread-safe (the
event loop is its only user).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.web.negotiation import negotiate

Format = ResultFormat | RdfFormat
Key = tuple[str, str, tuple[str, ...], tuple[str, ...], str]
_VOLATILE = re.compile(r"\b(?:RAND|NOW|UUID|STRUUID|BNODE)\s*\(|\bSERVICE\b", re.IGNORECASE)
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass
class _Entry:
    """Everything cached for one (build, query, dataset): the family and a body per format."""

    offered: tuple[Format, ...]
    bodies: dict[Format, tuple[bytes, bool]] = field(default_factory=dict)  # body, truncated

    @property
    def size(self) -> int:
        return sum(len(body) for body, _ in self.bodies.values())


@dataclass(frozen=True)
class Hit:
    """A cached answer in the negotiated format."""

    fmt: Format
    body: bytes
    truncated: bool


class ResultCache:
    """LRU of response bodies keyed by build, query text, dataset parameters and format."""

    def __init__(self, build_hash: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.build_hash = build_hash
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def key(
        self,
        query: str,
        default_graphs: tuple[str, ...],
        named_graphs: tuple[str, ...],
        base_iri: str = "",
    ) -> Key:
        """The key of one answer; ``base_iri`` resolves the query's relative IRIs (if any)."""
        return (self.build_hash, query, default_graphs, named_graphs, base_iri)

    def get(self, key: Key, accept: str | None, formats: tuple[str, ...]) -> Hit | None:
        """The cached body in the format the request negotiates to, if there is one.

        Raises:
            NotAcceptable, BadRequest: from negotiation, exactly as an uncached request would.
        """
        entry = self._entries.get(key)
        if entry is not None:
            fmt = negotiate(accept, formats, entry.offered)
            cached = entry.bodies.get(fmt)
            if cached is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return Hit(fmt, *cached)
        self.misses += 1
        return None

    def put(
        self, key: Key, offered: tuple[Format, ...], fmt: Format, body: bytes, truncated: bool
    ) -> None:
        """Keep an answer unless it is too large or its query may answer differently next time."""
        if len(body) > self.max_bytes // 16 or _VOLATILE.search(key[1]):
            return
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(offered)
        previous = entry.bodies.get(fmt)
        self._bytes += len(body) - (len(previous[0]) if previous else 0)
        entry.bodies[fmt] = (body, truncated)
        self._entries.move_to_end(key)
        while self._bytes > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size

    def clear(self) -> None:
        """Forget everything (a new build is served)."""
        self._entries.clear()
        self._bytes = 0

    def stats(self) -> dict[str, int]:
        """Entries, bytes held and hit/miss counts of this process (shown on /health)."""
        return {
            "entries": len(self._entries),
            "bytes": self._bytes,
            "max_bytes": self.max_bytes,
            "hits": self.hits,
            "misses": self.misses,
        }
