"""Coverage audit: does the graph hold every number, amount, percentage and date of the report?

Why: the graph is only worth what it holds, and a reviewer cannot check hundreds of figures by
eye. The audit extracts each value from the report's text, normalises it (``EUR 1.2 billion`` →
1200000000, ``6 454`` → 6454, ``28 January`` → 2025-01-28 by the edition-year rule, ``Q2/Q3 2025``
→ period ``2025-Q2--2025-Q3``) and checks that the built graph holds it as a typed literal (or a
period IRI), unless the edition's ``audit.toml`` waives it with a reason.
"""

from __future__ import annotations

import contextlib
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import PROV, XSD
from rdflib.term import Node

from migration_kg.core.errors import SourceError
from migration_kg.core.names import DATASET_ARTEFACT, PERIOD_BASE
from migration_kg.core.namespaces import EMK, GRAPH_DATA, GRAPH_LINKS, ID
from migration_kg.core.settings import Settings
from migration_kg.editions.values import ReportValue, extract_values, normalise

__all__ = [
    "AuditConfig",
    "GraphIndex",
    "ReportValue",
    "SectionCoverage",
    "audit_release",
    "edition_iri",
    "extract_values",
    "normalise",
    "render_audit",
    "run_audit",
]

AUDIT_FILE = "audit.toml"
SERIES = ID["report/migration-state-of-play"]

# Bookkeeping numbers that say nothing about the report's facts: counting them as "held" would
# let small counts (1, 2, 3…) pass the audit by accident.
_IGNORED_PREDICATES = frozenset({EMK.sectionOrder})


def edition_iri(edition: str) -> URIRef:
    """The IRI of an edition of the report series (``edition:2025-03``)."""
    return URIRef(f"{SERIES}/{edition}")


@dataclass
class SectionCoverage:
    """Audit figures for one key objective of the report."""

    section: str
    represented: list[ReportValue] = field(default_factory=list)
    waived: list[tuple[ReportValue, str]] = field(default_factory=list)
    missing: list[ReportValue] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.represented) + len(self.waived) + len(self.missing)

    @property
    def coverage(self) -> float:
        return (
            100.0 * (len(self.represented) + len(self.waived)) / self.total if self.total else 100.0
        )


@dataclass(frozen=True)
class AuditConfig:
    """Per-edition audit settings from ``data/<edition>/audit.toml``."""

    edition_year: int
    sections: tuple[tuple[str, int], ...]  # (section slug, first source line), ascending
    waivers: dict[tuple[int, str], str]  # (line, text as written) -> reason
    source: Path | None = None  # the report's text, when the file names it (``source = "…"``)

    @classmethod
    def read(cls, path: Path) -> AuditConfig:
        """Read the edition's audit file.

        Raises:
            SourceError: naming the file when it is missing or malformed.
        """
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            sections = tuple(sorted(raw["sections"].items(), key=lambda item: item[1]))
            waivers = {
                (int(w["line"]), str(w["text"])): str(w["reason"]) for w in raw.get("waiver", [])
            }
            source = path.parent / str(raw["source"]) if "source" in raw else None
            return cls(int(raw["edition_year"]), sections, waivers, source)
        except FileNotFoundError as exc:
            raise SourceError(path, "audit file not found") from exc
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SourceError(path, f"malformed audit file: {exc}") from exc

    def section_of(self, line: int) -> str:
        current = self.sections[0][0]
        for slug, first in self.sections:
            if line >= first:
                current = slug
        return current


ANY_SECTION = "*"


class GraphIndex:
    """The literals and period IRIs of a graph, each with the report sections that state it.

    Why sections: a value is only "held" if a resource traced to the same key objective holds
    it, so that a small count such as 2 in one section is not satisfied by an unrelated 2
    elsewhere. A resource's sections are those it is ``prov:wasDerivedFrom`` (lifted to the key
    objective); blank nodes and shared periods take the sections of the resources that use them;
    a node with no provenance at all counts for every section. With ``edition``, only sections
    of that edition count: a value another edition states is not held by this one.
    """

    def __init__(self, graph: Graph, edition: URIRef | None = None) -> None:
        self._edition = edition
        self.numbers: dict[Decimal, set[str]] = {}
        self.dates: dict[str, set[str]] = {}
        self.strings: list[tuple[str, set[str]]] = []
        self.periods: dict[str, set[str]] = {}
        self._graph = graph
        self._top: dict[Node, str] = {}
        self._cache: dict[Node, set[str]] = {}
        for subject, predicate, obj in graph:
            if predicate in _IGNORED_PREDICATES:
                continue
            if isinstance(obj, URIRef) and str(obj).startswith(PERIOD_BASE):
                slug = str(obj)[len(PERIOD_BASE) :]
                self.periods.setdefault(slug, set()).update(self.sections_of(subject))
            elif isinstance(obj, Literal):
                self._add_literal(obj, self.sections_of(subject))

    def sections_of(self, node: Node) -> set[str]:
        """The key objectives (top-level section slugs) that state this node."""
        if node not in self._cache:
            sources = list(self._graph.objects(node, PROV.wasDerivedFrom))
            if not sources:
                for referrer in self._graph.subjects(None, node):
                    sources += self._graph.objects(referrer, PROV.wasDerivedFrom)
            own = {self._top_section(sec) for sec in sources if self._in_edition(sec)}
            self._cache[node] = own if own or sources else {ANY_SECTION}
        return self._cache[node]

    def _in_edition(self, section: Node) -> bool:
        return self._edition is None or (section, EMK.inEdition, self._edition) in self._graph

    def _top_section(self, section: Node) -> str:
        if section not in self._top:
            current: Node = section
            seen: set[Node] = set()
            while (parent := self._graph.value(current, EMK.parentSection)) is not None:
                if parent in seen:
                    break
                seen.add(parent)
                current = parent
            self._top[section] = str(current).rsplit("/", 1)[-1]
        return self._top[section]

    def _add_literal(self, literal: Literal, sections: set[str]) -> None:
        if literal.datatype == XSD.date:
            self.dates.setdefault(str(literal), set()).update(sections)
        elif literal.datatype in (XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.int):
            with contextlib.suppress(InvalidOperation):
                self.numbers.setdefault(Decimal(str(literal)), set()).update(sections)
        else:
            self.strings.append((str(literal), sections))

    def holds(self, value: ReportValue, section: str = ANY_SECTION) -> bool:
        """Whether a resource of ``section`` holds the value with the datatype its kind needs."""

        def stated(sections: set[str] | None) -> bool:
            if not sections:
                return False
            return section == ANY_SECTION or section in sections or ANY_SECTION in sections

        kind, normal = value.kind, value.normal
        if kind in ("amount", "count", "ordinal"):
            return stated(self.numbers.get(Decimal(normal)))
        if kind == "percent":
            number = Decimal(normal)
            return stated(self.numbers.get(number)) or stated(self.numbers.get(-number))
        if kind == "days":
            return all(stated(self.dates.get(day)) for day in normal.split())
        if kind == "monthyear":
            return any(
                stated(secs)
                for slug, secs in self.periods.items()
                if any(part.startswith(normal) for part in slug.split("--"))
            ) or any(stated(secs) for d, secs in self.dates.items() if d.startswith(normal))
        if kind in ("quarter", "half", "years"):
            return any(
                stated(secs)
                for slug, secs in self.periods.items()
                if slug == normal or normal in slug.split("--")
            )
        if kind == "year":
            return any(
                stated(secs) for d, secs in self.dates.items() if d.startswith(normal)
            ) or any(
                stated(secs)
                for slug, secs in self.periods.items()
                if slug.startswith(normal) or f"--{normal}" in slug
            )
        if kind == "actnumber":
            return any(normal in text and stated(secs) for text, secs in self.strings)
        return False


def audit_release(settings: Settings, source: Path | None, edition: str) -> list[SectionCoverage]:
    """Audit the report text against the asserted graphs of the built release.

    The text is ``source``, else the ``source`` named in the edition's audit.toml. Only the data
    and links graphs count: inferred triples restate asserted values, and the ontology holds no
    report facts. Only the edition's own sections count when the graph holds several editions.

    Raises:
        SourceError: when the report text, the edition's audit.toml or the release is missing.
    """
    config = AuditConfig.read(settings.data_dir / edition / AUDIT_FILE)
    source = source or config.source
    if source is None:
        raise SourceError(settings.data_dir / edition / AUDIT_FILE, "no source = …; give --source")
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(source, f"cannot read the report text: {exc.strerror}") from exc
    release = settings.dist / DATASET_ARTEFACT
    if not release.is_file():
        raise SourceError(release, "no release found; run `migration-kg build` first")
    dataset = Dataset()
    dataset.parse(release, format="trig")
    facts = Graph()
    for name in (GRAPH_DATA, GRAPH_LINKS):
        for triple in dataset.graph(name):
            facts.add(triple)
    return run_audit(text, facts, config, edition_iri(edition))


def run_audit(
    text: str, graph: Graph, config: AuditConfig, edition: URIRef | None = None
) -> list[SectionCoverage]:
    """Audit every value of the report text against the graph, by key objective."""
    index = GraphIndex(graph, edition)
    by_section = {slug: SectionCoverage(slug) for slug, _ in config.sections}
    for value in extract_values(text, config.edition_year):
        section = config.section_of(value.line)
        coverage = by_section[section]
        reason = config.waivers.get((value.line, value.text))
        if index.holds(value, section):
            coverage.represented.append(value)
        elif reason is not None:
            coverage.waived.append((value, reason))
        else:
            coverage.missing.append(value)
    return list(by_section.values())


def render_audit(sections: list[SectionCoverage]) -> str:
    """A plain-text report: coverage per section, then every miss with its line."""
    lines = [f"{'section':<26} {'values':>6} {'held':>6} {'waived':>6} {'missing':>7} {'cover':>7}"]
    for s in sections:
        lines.append(
            f"{s.section:<26} {s.total:>6} {len(s.represented):>6} {len(s.waived):>6} "
            f"{len(s.missing):>7} {s.coverage:>6.1f}%"
        )
    total = sum(s.total for s in sections)
    held = sum(len(s.represented) for s in sections)
    waived = sum(len(s.waived) for s in sections)
    pct = 100.0 * (held + waived) / total if total else 100.0
    lines.append(
        f"{'all':<26} {total:>6} {held:>6} {waived:>6} {total - held - waived:>7} {pct:>6.1f}%"
    )
    for s in sections:
        for v in s.missing:
            lines.append(f"missing: line {v.line} [{s.section}] {v.kind} {v.text!r} -> {v.normal}")
    return "\n".join(lines)
