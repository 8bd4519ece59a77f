"""A report's outline: its numbered headings, each anchored to the line where its section starts.

Why: the section files of a new edition, the audit's key objectives and the draft's "which
section is this value in" all need each section's number, title and first line in the report's
text. The text, as extracted from the PDF, keeps the words of the headings but not their level
(bold key objective, sub-heading and body text all become table cells), so no rule can tell
"Entry/Exit System (EES) start of operations" (a paragraph title the encoder folded into 2.1)
from "European digital border management" (section 2.1). The outline therefore comes either

* from **numbered headings in the text** (a line, or a table row's first cell, reading
  ``2.1 European digital border management``), or
* from an **outline file**: one ``NUMBER TITLE [{slug}] [@LINE]`` per line (``#`` comments),
  each heading found in the text by its title unless ``@LINE`` says where it starts.

Numbers follow each other as in a table of contents (``1``, ``1.1``, ``1.2``, ``2``, ``2.1``,
``2.1.1``…); in the text, a numbered line that does not continue the numbering is body text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from migration_kg.core.errors import SourceError

Number = tuple[int, ...]

_OUTLINE_LINE = re.compile(
    r"^(?P<number>\d+(?:\.\d+)*)\.?\s+(?P<title>.+?)"
    r"(?:\s+\{(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\})?(?:\s+@(?P<line>\d+))?\s*$"
)
# A heading in the text: number, then a title starting with a letter (so "| 1 | Relocation |",
# a footnote marker in its own cell, is not "1 Relocation").
_TEXT_HEADING = re.compile(r"^(?P<number>\d+(?:\.\d+)*)\.?\s+(?P<title>[^\W\d_].*)$")
_LEAD = re.compile(r"^[\s|#>]+")
_MAX_TITLE_WORDS = 20  # longer numbered lines are sentences of the body, not headings
_SLUG_CHARS = 60


@dataclass(frozen=True)
class Heading:
    """One section of the outline."""

    number: Number
    title: str
    line: int  # first line of the section in the report text (1-based)
    slug: str | None = None

    @property
    def notation(self) -> str:
        return ".".join(str(n) for n in self.number)

    @property
    def parent(self) -> Number | None:
        return self.number[:-1] or None

    @property
    def order(self) -> int:
        return self.number[-1]


@dataclass(frozen=True)
class Outline:
    """The headings in reading order (numbers strictly following each other)."""

    headings: tuple[Heading, ...]

    def __len__(self) -> int:
        return len(self.headings)

    @property
    def top_level(self) -> tuple[Heading, ...]:
        return tuple(h for h in self.headings if len(h.number) == 1)

    def by_number(self) -> dict[Number, Heading]:
        return {h.number: h for h in self.headings}

    def section_at(self, line: int) -> Heading:
        """The deepest section a text line belongs to (lines before the first: the first)."""
        current = self.headings[0]
        for heading in self.headings:
            if heading.line <= line:
                current = heading
        return current

    def top_of(self, heading: Heading) -> Heading:
        return self.by_number()[heading.number[:1]]


def follows(previous: Number | None, number: Number) -> bool:
    """Whether ``number`` may come right after ``previous`` in a table of contents."""
    if previous is None:
        return number == (1,)
    if number == (*previous, 1):
        return True
    return any(number == (*previous[:k], previous[k] + 1) for k in range(len(previous)))


def normalise_text(text: str) -> str:
    """Lower case, no accents, words separated by single spaces (for matching titles)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def slugify(title: str) -> str:
    """An IRI slug from a title: lowercase ASCII words joined by hyphens, at most ~60 chars."""
    words = normalise_text(title).split()
    slug = ""
    for word in words:
        if slug and len(slug) + 1 + len(word) > _SLUG_CHARS:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug or "section"


def headings_in_text(text: str) -> Outline | None:
    """The numbered headings of a text, or None when it has none."""
    found: list[Heading] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        cell = _LEAD.sub("", raw).split("|", 1)[0].strip()
        match = _TEXT_HEADING.match(cell)
        if match is None:
            continue
        title = match["title"].strip()
        if len(title.split()) > _MAX_TITLE_WORDS or title[-1] in ".;,":
            continue
        parsed = tuple(int(n) for n in match["number"].split("."))
        if follows(found[-1].number if found else None, parsed):
            found.append(Heading(parsed, title, number))
    return Outline(tuple(found)) if found else None


def read_outline(path: Path, text: str) -> Outline:
    """Read an outline file and anchor each heading in ``text``.

    Raises:
        SourceError: naming the outline's line: a malformed line, a number out of sequence, a
            title not found in the text after the previous heading, or an ``@LINE`` out of order.
    """
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(path, f"cannot read the outline: {exc.strerror}") from exc
    lines = text.splitlines()
    headings: list[Heading] = []
    for number, raw in enumerate(content.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _OUTLINE_LINE.match(stripped)
        if match is None:
            raise SourceError(path, "expected 'NUMBER TITLE [{slug}] [@LINE]'", number)
        parsed = tuple(int(n) for n in match["number"].split("."))
        previous = headings[-1] if headings else None
        if not follows(previous.number if previous else None, parsed):
            after = previous.notation if previous else "the start"
            raise SourceError(path, f"heading {match['number']} cannot follow {after}", number)
        start = previous.line if previous else 1
        line = _anchor(match["title"], match["line"], lines, start, path, number)
        headings.append(Heading(parsed, match["title"], line, match["slug"]))
    if not headings:
        raise SourceError(path, "no headings in the outline")
    return Outline(tuple(headings))


def _anchor(
    title: str, given: str | None, lines: Sequence[str], start: int, path: Path, at: int
) -> int:
    if given is not None:
        line = int(given)
        if not start <= line <= len(lines):
            raise SourceError(path, f"@{line} is not between line {start} and the text's end", at)
        return line
    wanted = normalise_text(title)
    for line in range(start, len(lines) + 1):
        if any(_matches(cell, wanted) for cell in _cells(lines[line - 1])):
            return line
    raise SourceError(
        path, f"{title!r} not found in the text from line {start}; give its line as @LINE", at
    )


def _cells(line: str) -> Iterable[str]:
    return (normalise_text(cell) for cell in line.split("|") if cell.strip())


def _matches(cell: str, title: str) -> bool:
    """A cell starts with the title, or is the start of a title split over table rows."""
    if cell == title or cell.startswith(title + " "):
        return True
    return title.startswith(cell + " ") and len(cell.split()) >= 2


def with_slugs(outline: Outline, known: dict[str, str]) -> Outline:
    """Give every heading a slug unique in the edition.

    A heading keeps its own slug; otherwise it takes the slug an earlier edition gave the same
    title (``known``: normalised title → slug), so a section keeps its name across editions;
    otherwise its title's slug. A clash is resolved with the parent's slug, then a counter.
    """
    taken: set[str] = {h.slug for h in outline.headings if h.slug}
    by_number: dict[Number, Heading] = {}
    result: list[Heading] = []
    for heading in outline.headings:
        slug = heading.slug
        if slug is None:
            slug = known.get(normalise_text(heading.title)) or slugify(heading.title)
            if slug in taken and heading.parent in by_number:
                slug = f"{by_number[heading.parent].slug}-{slug}"
            base, counter = slug, 2
            while slug in taken:
                slug, counter = f"{base}-{counter}", counter + 1
            taken.add(slug)
        done = replace(heading, slug=slug)
        by_number[heading.number] = done
        result.append(done)
    return Outline(tuple(result))


def format_outline(outline: Outline) -> str:
    """The outline file for an outline: every heading with its slug and line."""
    rows = [
        "# The edition's outline: NUMBER TITLE {slug} @first line in the source text.",
        "# Read by `migration-kg draft` to say which section each value comes from.",
    ]
    rows += [f"{h.notation} {h.title} {{{h.slug}}} @{h.line}" for h in outline.headings]
    return "\n".join(rows) + "\n"
