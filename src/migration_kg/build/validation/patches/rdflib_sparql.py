"""rdflib patch: each SHACL-SPARQL query parsed once per validation instead of once per focus node.

Why: pySHACL hands rdflib the same query text for every focus node (``$this`` goes in as an
initial binding), and rdflib parses and translates it anew each time: 94 % of the validation
time on a 100k-triple edition was pyparsing. A translated query is immutable under evaluation
(rdflib's own ``prepareQuery`` reuses it the same way), so it is cached by text, base and
prefixes. rdflib's SPARQL processor calls ``parseQuery`` and ``translateQuery`` by their
global names; :func:`prepared_sparql` swaps those two globals of
``rdflib.plugins.sparql.processor`` for the block and puts rdflib's own back afterwards
(tests/test_validation_patches.py compares patched and stock reports).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache

import rdflib
from pyparsing import ParseResults
from rdflib.plugins.sparql import algebra, parser, processor
from rdflib.plugins.sparql.sparql import Query

from migration_kg.build.validation.patches.guard import require_names, require_version, swapped

CHECKED_VERSIONS = ("7.6.0",)  # checked: the processor calls the two names below
PATCHED = ("parseQuery", "translateQuery")


class QueryText(str):
    """A query text not parsed yet: what the patched ``translateQuery`` serves from its cache."""


@contextmanager
def prepared_sparql() -> Iterator[None]:
    """rdflib's SPARQL processor with a parse-and-translate cache, for the block.

    Raises:
        UnsupportedLibrary: rdflib is a version this patch was not checked against.
    """
    require_version("rdflib", rdflib.__version__, CHECKED_VERSIONS, __name__)
    require_names(processor, *PATCHED)
    stock_parse, stock_translate = parser.parseQuery, algebra.translateQuery

    @lru_cache(maxsize=256)
    def translate(text: str, base: str | None, namespaces: tuple[tuple[str, str], ...]) -> Query:
        return stock_translate(stock_parse(text), base, dict(namespaces) or None)

    def cached_translate(
        parsed: ParseResults | QueryText,
        base: str | None = None,
        init_ns: Mapping[str, str] | None = None,
    ) -> Query:
        if isinstance(parsed, QueryText):
            return translate(str(parsed), base, tuple(sorted((init_ns or {}).items())))
        return stock_translate(parsed, base, init_ns)

    with swapped(processor, {"parseQuery": QueryText, "translateQuery": cached_translate}):
        yield
