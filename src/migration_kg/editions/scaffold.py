"""``migration-kg edition new YYYY-MM --source TEXT``: the frame of a new edition in data/.

Why: before the first fact of a new edition can be written, the encoder needs the edition and
its sections as resources, one file per key objective with the right prefixes (``sec:``,
``plan:`` and ``obs:`` point into the new edition), the audit's settings, and the period of
publication in ``periods.ttl``. Writing these by hand took the first hours of an edition.

What it writes, into ``data/<edition>/`` (created whole, or not at all):

* ``00-report.ttl``: the edition (and the series, if no edition defines it yet) and one
  ``emk:ReportSection`` per heading of the outline (number, title, order, parent, edition);
* ``NN-<slug>.ttl`` per key objective: the prefix block and, as comments, its sections and
  their first lines in the text;
* ``audit.toml``: the edition's year, ``source =`` the report's text (its path relative to the
  edition folder: the text is read where it lies, never copied into the project) and the first
  line of each key objective; ``outline.txt``: the anchored outline.

The build reads every ``*.ttl`` under data/ and the audit reads ``data/<edition>/audit.toml``,
so nothing else needs wiring except ``data/shared/periods.ttl``, which is regenerated here.
A section keeps the slug an earlier edition gave the same title (``sec:tunisia`` in every
edition), so a reader can follow a section from one edition to the next.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF

from migration_kg.build.loading import SourceKind, discover_sources, parse_turtle
from migration_kg.build.periods import write_periods
from migration_kg.core.errors import MigrationKGError, SourceError
from migration_kg.core.namespaces import EMK
from migration_kg.core.settings import Settings
from migration_kg.editions.audit import AUDIT_FILE, SERIES
from migration_kg.editions.outline import (
    Heading,
    Outline,
    format_outline,
    headings_in_text,
    normalise_text,
    read_outline,
    with_slugs,
)

EDITION_NAME = re.compile(r"^(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])$")
OUTLINE_FILE = "outline.txt"
REPORT_FILE = "00-report.ttl"
PREFIXES_FILE = "prefixes.ttl"
SERIES_LABEL = "European Council - Migration State of Play"
SERIES_TITLE = "European Council \u2013 Migration State of Play"  # en dash, as the report
_EDITION_PREFIXES = {
    "sec": "https://w3id.org/eu-migration-kg/id/report/migration-state-of-play/{}/section/",
    "plan": "https://w3id.org/eu-migration-kg/id/planned-action/{}/",
    "obs": "https://w3id.org/eu-migration-kg/id/observation/{}/",
}


class EditionError(MigrationKGError):
    """An edition name or an edition folder that cannot be used (the message says why)."""


@dataclass(frozen=True)
class Scaffold:
    """What ``edition new`` wrote."""

    edition: str
    folder: Path
    outline: Outline
    files: tuple[Path, ...]


def check_edition_name(edition: str) -> re.Match[str]:
    """The edition's year and month.

    Raises:
        EditionError: unless the name is ``YYYY-MM`` with a month 01-12.
    """
    match = EDITION_NAME.match(edition)
    if match is None:
        raise EditionError(f"edition {edition!r} is not YYYY-MM (a year and a month, e.g. 2025-06)")
    return match


def scaffold_edition(
    settings: Settings, edition: str, source: Path, outline_file: Path | None = None
) -> Scaffold:
    """Write the frame of ``edition`` into ``data/<edition>/`` and refresh periods.ttl.

    Raises:
        EditionError: a name that is not YYYY-MM, or an edition that exists.
        SourceError: an unreadable text, a text without numbered headings (and no outline),
            or an outline that does not fit the text (naming the outline's line).
    """
    check_edition_name(edition)
    folder = settings.data_dir / edition
    if folder.exists():
        raise EditionError(f"{folder}: edition {edition} exists; choose another name")
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(source, f"cannot read the report text: {exc}") from exc
    if outline_file is not None:
        outline = read_outline(outline_file, text)
    else:
        found = headings_in_text(text)
        if found is None:
            raise SourceError(
                source,
                "no numbered headings (lines such as '2.1 European digital border management');"
                " number them in the text or give --outline FILE",
            )
        outline = found
    existing = _existing_data(settings)
    outline = with_slugs(outline, _known_slugs(existing))
    source_ref = os.path.relpath(source.resolve(), folder.resolve())
    files = _write_folder(settings, edition, folder, outline, source_ref, _has_series(existing))
    write_periods(settings)
    return Scaffold(edition, folder, outline, files)


def _existing_data(settings: Settings) -> Graph:
    graph = Graph()
    for source in discover_sources(settings):
        if source.kind is SourceKind.DATA:
            parse_turtle(source.path, into=graph)
    return graph


def _known_slugs(data: Graph) -> dict[str, str]:
    """Normalised section title → slug, from the sections of the editions already encoded."""
    known: dict[str, str] = {}
    for section in sorted(data.subjects(RDF.type, EMK.ReportSection), key=str):
        title = data.value(section, DCTERMS.title)
        if title is not None:
            known.setdefault(normalise_text(str(title)), str(section).rsplit("/", 1)[-1])
    return known


def _has_series(data: Graph) -> bool:
    return (URIRef(SERIES), RDF.type, EMK.ReportSeries) in data


def _write_folder(
    settings: Settings, edition: str, folder: Path, outline: Outline, source_ref: str, series: bool
) -> tuple[Path, ...]:
    """Write every file into a staging folder beside data/<edition>, then rename it into place."""
    prefixes = edition_prefixes(settings, edition)
    staging = Path(tempfile.mkdtemp(prefix=f".{edition}-", dir=settings.data_dir))
    try:
        (staging / REPORT_FILE).write_text(
            prefixes + "\n" + report_turtle(edition, outline, with_series=not series),
            encoding="utf-8",
        )
        for heading in outline.top_level:
            name = f"{heading.order:02d}-{heading.slug}.ttl"
            (staging / name).write_text(prefixes + section_comment(outline, heading), "utf-8")
        (staging / AUDIT_FILE).write_text(audit_toml(edition, outline, source_ref), "utf-8")
        (staging / OUTLINE_FILE).write_text(format_outline(outline), encoding="utf-8")
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return tuple(sorted(folder.iterdir()))


def edition_prefixes(settings: Settings, edition: str) -> str:
    """data/prefixes.ttl with the edition's own ``sec:``, ``plan:`` and ``obs:`` namespaces."""
    path = settings.data_dir / PREFIXES_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SourceError(path, f"cannot read the prefix block: {exc.strerror}") from exc
    out = []
    for line in lines[1:]:  # the first line says "copy this block"
        for prefix, template in _EDITION_PREFIXES.items():
            if line.startswith(f"@prefix {prefix}: "):
                line = f"@prefix {prefix}: <{template.format(edition)}> ."
        out.append(line)
    return "\n".join(out) + "\n"


def report_turtle(edition: str, outline: Outline, *, with_series: bool) -> str:
    """The edition and its sections, in the form of data/2025-03/00-report.ttl."""
    year, month = (int(part) for part in edition.split("-"))
    when = f"{calendar.month_name[month]} {year}"
    parts = [f"# The {when} edition of the report and its sections (written by `edition new`).\n"]
    if with_series:
        parts.append(
            "report:migration-state-of-play a emk:ReportSeries ;\n"
            f'    rdfs:label "{SERIES_LABEL}"@en ;\n'
            "    dcterms:publisher eorg:european-commission .\n"
        )
    parts.append(
        f"edition:{edition} a emk:ReportEdition ;\n"
        f'    rdfs:label "{SERIES_LABEL}, {when}"@en ;\n'
        f'    dcterms:title "{SERIES_TITLE}"@en ;\n'
        "    emk:editionOf report:migration-state-of-play ;\n"
        f'    dcterms:issued "{edition}"^^xsd:gYearMonth ;\n'
        f"    emk:publicationPeriod period:{edition} ;\n"
        "    dcterms:publisher eorg:european-commission ;\n"
        "    dcterms:creator eorg:european-commission ;\n"
        f'    skos:notation "{edition}" .\n'
    )
    numbers = outline.by_number()
    for heading in outline.headings:
        parent = numbers[heading.parent] if heading.parent else None
        parts.append(_section_turtle(edition, heading, parent))
    return "\n".join(parts)


def _section_turtle(edition: str, heading: Heading, parent: Heading | None) -> str:
    title = _turtle_string(heading.title)
    lines = [
        f"sec:{heading.slug} a emk:ReportSection ;",
        f'    rdfs:label "{heading.notation} {title}"@en ;',
        f'    dcterms:title "{title}"@en ;',
        f'    skos:notation "{heading.notation}" ;',
        f"    emk:sectionOrder {heading.order} ;",
    ]
    if parent is not None:
        lines.append(f"    emk:parentSection sec:{parent.slug} ;")
    lines.append(f"    emk:inEdition edition:{edition} .")
    return "\n".join(lines) + "\n"


def _turtle_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def section_comment(outline: Outline, top: Heading) -> str:
    """The comment that opens a key objective's file: its sections and where they start."""
    rows = [f"\n# {top.notation} {top.title}", "#"]
    rows.append("# One resource per fact, each prov:wasDerivedFrom its section (data/README.md):")
    for heading in outline.headings:
        if heading.number[:1] == top.number:
            rows.append(f"#   sec:{heading.slug:<40} {heading.notation} from line {heading.line}")
    return "\n".join(rows) + "\n"


def audit_toml(edition: str, outline: Outline, source_ref: str) -> str:
    """The audit's settings: year, text, and the first line of each key objective."""
    year = edition.split("-")[0]
    rows = [
        f"# Coverage audit settings for the {edition} edition (written by `edition new`).",
        "# Dates without a year belong to this year (the report writes the year of any other).",
        f"edition_year = {year}",
        f"source = {json.dumps(source_ref)}",
        "",
        "# First line, in the source text, of each key objective (titles belong to the first).",
        "[sections]",
    ]
    for index, heading in enumerate(outline.top_level):
        rows.append(f'"{heading.slug}" = {1 if index == 0 else heading.line}')
    rows += [
        "",
        "# Values that are not facts (page furniture, footnote markers), each with its reason:",
        '# [[waiver]]\n# line = 0\n# text = ""\n# reason = ""',
    ]
    return "\n".join(rows) + "\n"
