"""``Backend``: what the web layer needs from a query engine, embedded or remote.

``QueryEngine`` (the release in memory) and ``RemoteEngine`` (a release published into a
SPARQL store) both provide it; ``create_app`` takes either. Results are the engine's own
``QueryResult`` and ``Answer``, so pages, negotiation and caching do not know which one runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pyoxigraph as ox

from migration_kg.core.settings import Settings
from migration_kg.serve.evaluation import Answer, Chooser, QueryResult


class Backend(Protocol):
    """Read-only SPARQL over one release, with the server's checks, deadline and row cap."""

    settings: Settings
    manifest: dict[str, Any]
    build_hash: str

    def __len__(self) -> int: ...

    @property
    def parallelism(self) -> int: ...

    @parallelism.setter
    def parallelism(self, count: int) -> None: ...

    def start(self) -> None: ...

    def close(self) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    def query(
        self,
        sparql_text: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
        row_cap: int | None = None,
        base_iri: str | None = None,
    ) -> QueryResult: ...

    async def query_async(
        self,
        sparql_text: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult: ...

    async def answer_async(
        self,
        sparql_text: str,
        choose: Chooser,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout_s: float | None = None,
        base_iri: str | None = None,
        background: bool = False,
    ) -> Answer: ...
