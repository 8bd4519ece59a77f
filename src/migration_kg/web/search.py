"""Labels and search: one pass over the release's labels, built once per app (``create_app``).

Search matches labels, alternative labels and acronyms (``emk:acronym``, the preferred short
name); each hit carries the resource's acronym so that the page can say what to use in a query.

The release is immutable while served, so a plain in-memory index beats a query per keystroke:
labels are folded once (NFKD, combining marks dropped, casefolded) so that "turkiye" finds
"Türkiye" and "COTE" finds "Côte d'Ivoire". The same pass gives every page its display names
(``LabelMap``), so no page needs a query just to name the things it links to.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from migration_kg.core.queries import internal_query
from migration_kg.serve.backend import Backend

# Internal queries: the server decides their size, so the client-facing row cap does not apply.
INTERNAL_ROW_CAP = 1_000_000
INTERNAL_TIMEOUT_S = 60.0
_WORD = re.compile(r"[^\w]+")
# Ranking tiers, best first: the whole label, its beginning, a word's beginning, anywhere.
EXACT, PREFIX, WORD_PREFIX, SUBSTRING = range(4)
# An acronym is the preferred short name (emk:acronym): it ranks before other alternative labels.
_KIND_ORDER = {"label": 0, "prefLabel": 1, "acronym": 1, "altLabel": 2}


def fold(text: str) -> str:
    """Case- and accent-insensitive key: NFKD, combining marks dropped, casefolded."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


@dataclass(frozen=True)
class Hit:
    """One search result: the resource, the label that matched and how well."""

    iri: str
    label: str  # the resource's display label
    matched: str  # the label (maybe an alternative one) that matched the query
    tier: int
    acronym: str | None = None  # the preferred short name (emk:acronym), to use in queries


@dataclass(frozen=True)
class _Entry:
    iri: str
    text: str
    key: str
    words: tuple[str, ...]
    kind: int


class LabelMap:
    """Display labels by IRI: rdfs:label, else skos:prefLabel, else skos:altLabel."""

    def __init__(self, labels: dict[str, str]) -> None:
        self._labels = labels

    def get(self, iri: str) -> str | None:
        return self._labels.get(iri)

    def __len__(self) -> int:
        return len(self._labels)


class SearchIndex:
    """Every label of the release, folded; ``search`` ranks exact > prefix > word > substring."""

    def __init__(
        self, entries: list[_Entry], labels: LabelMap, acronyms: dict[str, str] | None = None
    ) -> None:
        self._entries = entries
        self.labels = labels
        self.acronyms = acronyms or {}

    @classmethod
    def from_engine(cls, engine: Backend) -> SearchIndex:
        """One query over the store; labels in other languages than English are left out."""
        result = engine.query(
            internal_query("labels.rq"), timeout_s=INTERNAL_TIMEOUT_S, row_cap=INTERNAL_ROW_CAP
        )
        return cls.from_labels(
            (iri, label, kind) for iri, label, kind in result.rows if iri and label and kind
        )

    @classmethod
    def from_labels(cls, rows: Iterable[tuple[str, str, str]]) -> SearchIndex:
        """Index ``(iri, label, kind)`` rows; kind is ``label``, ``prefLabel``, ``altLabel`` or
        ``acronym`` (matched like a label; never a display label: the acronym is also an
        alternative label)."""
        entries: list[_Entry] = []
        best: dict[str, tuple[int, str]] = {}
        acronyms: dict[str, str] = {}
        for iri, label, kind in rows:
            rank = _KIND_ORDER.get(kind, 3)
            key = fold(label)
            entries.append(_Entry(iri, label, key, tuple(w for w in _WORD.split(key) if w), rank))
            if kind == "acronym":
                acronyms[iri] = label
            elif iri not in best or (rank, label) < best[iri]:
                best[iri] = (rank, label)
        labels = LabelMap({iri: label for iri, (_, label) in best.items()})
        return cls(entries, labels, acronyms)

    def search(self, query: str, limit: int = 50) -> list[Hit]:
        """Ranked hits, one per resource (its best-matching label); shorter labels first."""
        key = fold(query)
        if not key:
            return []
        found: dict[str, tuple[int, int, int, str, str]] = {}
        for entry in self._entries:
            tier = _tier(key, entry)
            if tier is None:
                continue
            rank = (tier, entry.kind, len(entry.text), entry.text, entry.iri)
            if entry.iri not in found or rank < found[entry.iri]:
                found[entry.iri] = rank
        ordered = sorted(found.values())[:limit]
        return [
            Hit(iri, self.labels.get(iri) or matched, matched, tier, self.acronyms.get(iri))
            for tier, _, _, matched, iri in ordered
        ]


def _tier(key: str, entry: _Entry) -> int | None:
    if entry.key == key:
        return EXACT
    if entry.key.startswith(key):
        return PREFIX
    if any(word.startswith(key) for word in entry.words):
        return WORD_PREFIX
    if key in entry.key:
        return SUBSTRING
    return None
