"""``migration-kg draft --edition YYYY-MM``: an edition's candidate facts, for review.

Why: encoding an edition starts with finding every figure and date in ~400 lines of damaged
table text and looking up who and what each one is about. The draft does that mechanical part:
every amount, date, period, percentage and count (the audit's extractor, so the audit later
checks exactly these values), each with the section and line it comes from, the sentence around
it, and the known entities that sentence (and its section's heading) names. It is a worksheet
(TSV), never data: nothing is written into data/.

The section of a line comes from the edition's ``outline.txt`` (written by ``edition new``);
without one, from the key objectives of its ``audit.toml``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from migration_kg.build.loading import SourceKind, load_sources
from migration_kg.core.errors import SourceError
from migration_kg.core.settings import Settings
from migration_kg.editions.audit import AUDIT_FILE, AuditConfig
from migration_kg.editions.entities import EntityIndex, Mention
from migration_kg.editions.outline import Heading, Outline, read_outline
from migration_kg.editions.scaffold import OUTLINE_FILE, EditionError, check_edition_name
from migration_kg.editions.values import ReportValue, extract_values

# Where a sentence of the report ends: a full stop, semicolon or colon before a space, a bullet,
# or a table cell boundary (the extraction flattens the report's tables into "|" cells).
_BOUNDARY = re.compile(r"(?<=[.;:!?])\s+(?=[A-Z0-9•>➢≻])|\s*\|\s*|\s+[•➢≻]\s+")
_MARKERS = " •➢≻>|"  # bullets and cell bars around a sentence
_CONTEXT_CHARS = 200
_PREFIX = re.compile(r"^@prefix (?P<name>[\w-]*): <(?P<iri>[^>]*)> \.$", re.M)
COLUMNS = ("section", "title", "line", "kind", "text", "value", "entities", "context")


@dataclass(frozen=True)
class Candidate:
    """One value of the text proposed as a fact, with where it is and what it is about."""

    value: ReportValue
    section: Heading
    key_objective: Heading
    sentence: str
    entities: tuple[Mention, ...]  # named in the sentence, then in the section's heading


@dataclass(frozen=True)
class Draft:
    edition: str
    source: Path
    outline: Outline
    candidates: tuple[Candidate, ...]
    prefixes: dict[str, str]


@dataclass(frozen=True)
class EditionInputs:
    """What the draft and its measurement read: the text, its outline, the year, the graph."""

    edition: str
    source: Path
    text: str
    outline: Outline
    year: int
    graph: Graph
    prefixes: dict[str, str]  # data/prefixes.ttl, for short names in the worksheet


def read_inputs(settings: Settings, edition: str, source: Path | None = None) -> EditionInputs:
    """The edition's text (``source``, else audit.toml's), outline and year, and the graph.

    Raises:
        EditionError: a name that is not YYYY-MM, or an edition with no folder in data/.
        SourceError: no text, or an unreadable text, outline or audit file.
    """
    check_edition_name(edition)
    folder = settings.data_dir / edition
    if not folder.is_dir():
        raise EditionError(f"{folder}: no edition {edition}; create it with `edition new`")
    config = AuditConfig.read(folder / AUDIT_FILE)
    path = source or config.source
    if path is None:
        raise SourceError(folder / AUDIT_FILE, "no source = … for the report's text; give --source")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(path, f"cannot read the report text: {exc}") from exc
    outline_file = folder / OUTLINE_FILE
    if outline_file.is_file():
        outline = read_outline(outline_file, text)
    else:
        outline = Outline(
            tuple(
                Heading((n,), slug, line, slug) for n, (slug, line) in enumerate(config.sections, 1)
            )
        )
    loaded = load_sources(settings)
    graph = loaded.union(SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS)
    prefixes = read_prefixes(settings.data_dir / "prefixes.ttl")
    return EditionInputs(edition, path, text, outline, config.edition_year, graph, prefixes)


def read_prefixes(path: Path) -> dict[str, str]:
    """The ``@prefix`` lines of a Turtle file (none if it cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    return {m["name"]: m["iri"] for m in _PREFIX.finditer(text)}


def draft_edition(inputs: EditionInputs, index: EntityIndex | None = None) -> Draft:
    """Every value of the text as a candidate, with its section, sentence and entities."""
    index = index or EntityIndex(inputs.graph)
    lines = inputs.text.splitlines()
    headings = {h.number: index.resolve(h.title) for h in inputs.outline.headings}
    candidates = []
    for value in extract_values(inputs.text, inputs.year):
        section = inputs.outline.section_at(value.line)
        sentence = sentence_at(lines[value.line - 1], value.column)
        named = index.resolve(sentence)
        seen = {m.iri for m in named}
        around = tuple(m for m in headings[section.number] if m.iri not in seen)
        candidates.append(
            Candidate(value, section, inputs.outline.top_of(section), sentence, named + around)
        )
    return Draft(inputs.edition, inputs.source, inputs.outline, tuple(candidates), inputs.prefixes)


def sentence_at(line: str, column: int) -> str:
    """The sentence (or table cell, or bullet) of ``line`` that contains ``column``."""
    start = 0
    for boundary in _BOUNDARY.finditer(line):
        if boundary.start() > column:
            return line[start : boundary.start()].strip(_MARKERS)
        start = boundary.end()
    return line[start:].strip(_MARKERS)


def render_worksheet(draft: Draft) -> str:
    """The worksheet as TSV: one row per candidate, in reading order, IRIs as prefixed names."""
    prefixes = sorted(draft.prefixes.items(), key=lambda item: -len(item[1]))

    def name(iri: str) -> str:
        for prefix, namespace in prefixes:
            if iri.startswith(namespace):
                return f"{prefix}:{iri[len(namespace) :]}"
        return iri

    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for c in draft.candidates:
        entities = "; ".join(f"{name(m.iri)} ({m.name})" for m in c.entities)
        context = (
            c.sentence if len(c.sentence) <= _CONTEXT_CHARS else c.sentence[:_CONTEXT_CHARS] + "…"
        )
        writer.writerow(
            (c.section.notation, c.section.title, c.value.line, c.value.kind, c.value.text,
             c.value.normal, entities, context)
        )  # fmt: skip
    return out.getvalue()


def check_output(settings: Settings, output: Path) -> None:
    """A draft is for review: it is never written into data/.

    Raises:
        EditionError: when ``output`` lies under data/.
    """
    data = settings.data_dir.resolve()
    target = output.resolve()
    if target == data or data in target.parents:
        raise EditionError(
            f"{output}: the draft is a worksheet for review, never written into data/"
        )
