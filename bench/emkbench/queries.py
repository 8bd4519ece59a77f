"""The timed queries, read from bench/queries.toml (kind, name, and a path or inline text)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from emkbench.localhttp import GRAPH_MEDIA, SELECT_MEDIA
from emkbench.paths import ROOT

KINDS = ("lookup", "join", "aggregate", "label-search", "describe", "construct")
_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    """One timed query and the media type its results are asked for in."""

    kind: str
    name: str
    text: str

    @property
    def form(self) -> str:
        """SELECT, ASK, CONSTRUCT or DESCRIBE (the first keyword outside comments and IRIs)."""
        body = "\n".join(
            line for line in self.text.splitlines() if not line.lstrip().startswith("#")
        )
        body = re.sub(r"<[^>\s]*>", "<>", body)
        match = _FORM.search(body)
        return match.group(1).upper() if match else "SELECT"

    @property
    def accept(self) -> str:
        return GRAPH_MEDIA if self.form in ("CONSTRUCT", "DESCRIBE") else SELECT_MEDIA


def load_queries(path: Path, kinds: tuple[str, ...], first_per_kind: bool) -> list[Query]:
    """The queries of ``kinds`` in file order (only the first of each kind for a smoke run).

    Raises:
        ValueError: an entry has an unknown kind, or neither/both of ``path`` and ``text``.
    """
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("query", [])
    queries: list[Query] = []
    for entry in entries:
        kind, name = entry["kind"], entry["name"]
        if kind not in KINDS:
            raise ValueError(f"{path}: query {name!r} has unknown kind {kind!r}")
        if ("path" in entry) == ("text" in entry):
            raise ValueError(f"{path}: query {name!r} needs exactly one of path, text")
        text = (
            (ROOT / entry["path"]).read_text(encoding="utf-8") if "path" in entry else entry["text"]
        )
        if kind in kinds and not (first_per_kind and any(q.kind == kind for q in queries)):
            queries.append(Query(kind, name, text.strip() + "\n"))
    return queries
