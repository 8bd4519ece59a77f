"""Named queries: the catalogue of ``queries/**/*.rq``, each documented by its header comments.

Beside the build flow (config → **queries** → engine/web/cli): a query's id is its file stem
(kebab-case, one id = one URL ``/queries/<id>``), and its title, description and parameters
come from the opening comment lines::

    # title: Funding for a country
    # description: Which EU funding commitments does the report list for a given country?
    # param: ?country the country (an IRI such as country:tunisia)

Parameters are bound by the engine through ``initBindings``, never by editing the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from migration_kg.core.errors import SourceError, UnknownQuery

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_HEADER = re.compile(r"^#\s*(?P<key>[a-z]+)\s*:\s*(?P<value>.*?)\s*$")
_PARAM = re.compile(r"^\?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\s+(?P<doc>.*))?$")
_KEYS = ("title", "description", "param")


@dataclass(frozen=True)
class QueryParam:
    """A variable the caller may bind, with what it expects."""

    name: str
    description: str


@dataclass(frozen=True)
class NamedQuery:
    """A documented SPARQL query from queries/."""

    id: str
    title: str
    description: str
    params: tuple[QueryParam, ...]
    text: str
    path: Path


@dataclass(frozen=True)
class QueryCatalogue(Mapping[str, NamedQuery]):
    """Named queries by id, in id order."""

    queries: Mapping[str, NamedQuery]

    def __getitem__(self, query_id: str) -> NamedQuery:
        try:
            return self.queries[query_id]
        except KeyError:
            raise UnknownQuery(f"no named query {query_id!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.queries)

    def __len__(self) -> int:
        return len(self.queries)


def load_catalogue(queries_dir: Path) -> QueryCatalogue:
    """Read every ``*.rq`` under ``queries_dir`` (recursively).

    Raises:
        SourceError: naming the file (and line) with a bad id, header or a duplicate id.
    """
    if not queries_dir.is_dir():
        raise SourceError(queries_dir, "directory not found")
    found: dict[str, NamedQuery] = {}
    for path in sorted(queries_dir.rglob("*.rq")):
        query = parse_query_file(path)
        if query.id in found:
            raise SourceError(path, f"query id {query.id!r} is also used by {found[query.id].path}")
        found[query.id] = query
    return QueryCatalogue(dict(sorted(found.items())))


def parse_query_file(path: Path) -> NamedQuery:
    """Parse one ``.rq`` file's header; the query text is kept whole.

    Raises:
        SourceError: if the stem is not kebab-case, the file cannot be read, or ``title`` or
            ``description`` is missing, repeated or empty, or a ``param`` line is malformed.
    """
    if not _ID.match(path.stem):
        raise SourceError(path, f"query id {path.stem!r} must be kebab-case (a-z, 0-9, '-')")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(path, f"cannot read query: {exc}") from exc
    fields: dict[str, str] = {}
    params: list[QueryParam] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break  # the header is the opening block of comment lines
        match = _HEADER.match(line)
        if not match or match["key"] not in _KEYS:
            continue  # other comments are free text
        key, value = match["key"], match["value"]
        if key == "param":
            params.append(_param(path, number, value))
        elif key in fields:
            raise SourceError(path, f"'# {key}:' given twice", number, 1)
        elif not value:
            raise SourceError(path, f"'# {key}:' is empty", number, 1)
        else:
            fields[key] = value
    for key in ("title", "description"):
        if key not in fields:
            raise SourceError(path, f"missing '# {key}: …' header line", 1, 1)
    return NamedQuery(
        id=path.stem,
        title=fields["title"],
        description=fields["description"],
        params=tuple(params),
        text=text,
        path=path,
    )


def _param(path: Path, number: int, value: str) -> QueryParam:
    match = _PARAM.match(value)
    if not match:
        raise SourceError(path, f"'# param:' needs '?name [description]', got {value!r}", number)
    return QueryParam(name=match["name"], description=match["doc"] or "")


def internal_query(name: str) -> str:
    """The text of an internal query, ``src/migration_kg/sparql/<name>`` (packaged with the code).

    Internal queries serve the pages and the service description; the public, documented ones
    live in ``queries/`` and are read by :func:`load_catalogue`.
    """
    return files("migration_kg").joinpath("sparql").joinpath(name).read_text(encoding="utf-8")
