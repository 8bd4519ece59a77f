"""docs/querying.md: every example query runs on the built release and gives the result shown.

The guide is what people copy from, so an example that no longer answers, or answers
differently, is a broken promise. Each ```` ```sparql ```` block is followed by its result: a
markdown table whose header is the query's variables, or a line ``Result: true`` / ``Result:
false`` for an ASK query. Cells show IRIs as prefixed names (the prefixes of data/prefixes.ttl
and the W3C ones the guide uses), literals by their lexical form, nothing for an unbound
variable. The query runs as the endpoint runs it (pyoxigraph, the default graph being the union
of the release's graphs, asserted and inferred); rows are compared order-free.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pyoxigraph as ox
import pytest
from rdflib import Graph

from kg_helpers import REPO, BuiltRelease

GUIDE = REPO / "docs" / "querying.md"
_BLOCK = re.compile(r"^```sparql\n(.*?)^```\n", re.S | re.M)
_EXTRA_PREFIXES = {
    "cpov": "http://data.europa.eu/m8g/",
    "org": "http://www.w3.org/ns/org#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "time": "http://www.w3.org/2006/time#",
}


@dataclass(frozen=True)
class Example:
    """One example of the guide: its query, the result it shows and where it is."""

    query: str
    shown: list[str]  # the result lines (table or "Result: …")
    line: int


def _prefixes() -> list[tuple[str, str]]:
    graph = Graph().parse(REPO / "data" / "prefixes.ttl")
    pairs = {name: str(ns) for name, ns in graph.namespaces() if name}
    pairs.update(_EXTRA_PREFIXES)
    # The longest namespace first, so that period: wins over a shorter namespace it extends.
    return sorted(pairs.items(), key=lambda item: -len(item[1]))


PREFIXES = _prefixes()


def examples(text: str) -> list[Example]:
    """Every ```sparql block of ``text`` with the result lines that follow it."""
    found = []
    for match in _BLOCK.finditer(text):
        rest = text[match.end() :].lstrip("\n").split("\n")
        shown: list[str] = []
        for line in rest:
            if line.startswith("|") or (not shown and line.startswith("Result:")):
                shown.append(line.strip())
            else:
                break
        line_no = text[: match.start()].count("\n") + 1
        found.append(Example(match.group(1), shown, line_no))
    return found


def _cell(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        for name, namespace in PREFIXES:
            if term.value.startswith(namespace):
                return f"{name}:{term.value[len(namespace) :]}"
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return "_:"
    return term.value.replace("|", "\\|")


def render_result(result: ox.QuerySolutions | ox.QueryBoolean | object) -> str:
    """The result as the guide shows it: a markdown table, or ``Result: true|false``."""
    if isinstance(result, ox.QueryBoolean):
        return f"Result: {'true' if bool(result) else 'false'}"
    assert isinstance(result, ox.QuerySolutions), "the guide shows SELECT and ASK results only"
    variables = [v.value for v in result.variables]
    lines = ["| " + " | ".join(variables) + " |", "|" + "---|" * len(variables)]
    for solution in result:
        lines.append("| " + " | ".join(_cell(solution[v]) for v in variables) + " |")
    return "\n".join(lines)


def _rows(lines: list[str]) -> tuple[list[str], Counter[tuple[str, ...]]]:
    """Header and the multiset of rows of a shown (or rendered) result."""
    if len(lines) == 1 and lines[0].startswith("Result:"):
        return [lines[0]], Counter()

    def cells(line: str) -> tuple[str, ...]:
        inner = line.strip()[1:-1]
        parts = re.split(r"(?<!\\)\|", inner)
        return tuple(p.strip() for p in parts)

    header = list(cells(lines[0]))
    return header, Counter(cells(line) for line in lines[2:])


GUIDE_EXAMPLES = examples(GUIDE.read_text(encoding="utf-8")) if GUIDE.is_file() else []


def test_the_guide_has_examples() -> None:
    assert GUIDE.is_file(), "docs/querying.md is missing"
    assert len(GUIDE_EXAMPLES) >= 10
    assert all(example.shown for example in GUIDE_EXAMPLES), "an example shows no result"


def test_the_readme_links_the_guide() -> None:
    assert "(docs/querying.md)" in (REPO / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def store(built_release: BuiltRelease) -> ox.Store:
    loaded = ox.Store()
    loaded.bulk_load(path=str(built_release.dist / "emk.trig"), format=ox.RdfFormat.TRIG)
    return loaded


@pytest.mark.parametrize("example", GUIDE_EXAMPLES, ids=lambda e: f"line-{e.line}")
def test_example_gives_the_result_shown(example: Example, store: ox.Store) -> None:
    produced = render_result(store.query(example.query, use_default_graph_as_union=True))
    shown_header, shown_rows = _rows(example.shown)
    header, rows = _rows(produced.split("\n"))
    assert (header, rows) == (shown_header, shown_rows), (
        f"docs/querying.md line {example.line}: the example now gives\n{produced}"
    )
