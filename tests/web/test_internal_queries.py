"""Internal SPARQL (src/migration_kg/sparql/*.rq): documented, parseable, used, string-free."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pyoxigraph as ox
import pytest

from migration_kg.core.queries import parse_query_file

SPARQL_DIR = Path(str(files("migration_kg").joinpath("sparql")))
SRC = SPARQL_DIR.parent
FILES = sorted(SPARQL_DIR.glob("*.rq"))


def test_internal_queries_found() -> None:
    assert len(FILES) > 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_internal_query_is_documented_parses_and_is_used(path: Path) -> None:
    query = parse_query_file(path)  # title and description headers, kebab-case name
    assert query.title and query.description
    ox.Store().query(query.text)  # raises SyntaxError with line and column if it does not parse
    users = [p for p in SRC.rglob("*.py") if path.name in p.read_text(encoding="utf-8")]
    assert users, f"{path.name} is not used by any module"
