"""``GraphUnion``: a read-only rdflib graph that is the union of others, read through them.

Used by the release (its graphs are views over the source files' graphs), the description and
the framing, which only look things up and count.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import Any, NoReturn

from rdflib import Graph, Node, URIRef
from rdflib.paths import Path


class GraphUnion(Graph):
    """A read-only graph that is the union of others, read through them instead of copied.

    Why: merging the data files into one rdflib graph costs seconds and gigabytes at a million
    triples, while the release only looks things up (description, framing) and counts. A
    triple stated in several parts is yielded once, so ``len`` and iteration are those of the
    merged graph; only lookups touch the parts' indexes.
    """

    def __init__(self, parts: Iterable[Graph], identifier: URIRef | None = None) -> None:
        super().__init__(bind_namespaces="none", identifier=identifier)
        self.parts = tuple(parts)

    def triples(self, triple: Any) -> Iterator[Any]:  # type: ignore[override]
        s, p, o = triple
        if isinstance(p, Path):
            yield from ((_s, p, _o) for _s, _o in p.eval(self, s, o))
        elif len(self.parts) == 1:
            yield from self.parts[0].triples((s, p, o))
        else:
            seen: set[tuple[Node, Node, Node]] = set()
            for part in self.parts:
                for found in part.triples((s, p, o)):
                    if found not in seen:
                        seen.add(found)
                        yield found

    def triples_choices(
        self, triple: Any, context: Any = None
    ) -> Generator[tuple[Node, Node, Node], None, None]:
        position = next(i for i, term in enumerate(triple) if isinstance(term, list))
        for choice in triple[position]:
            pattern = tuple(choice if i == position else t for i, t in enumerate(triple))
            yield from self.triples(pattern)

    def __len__(self) -> int:
        if len(self.parts) == 1:
            return len(self.parts[0])
        return sum(1 for _ in self.triples((None, None, None)))

    def add(self, triple: Any) -> NoReturn:
        raise TypeError("a GraphUnion is read-only")

    def addN(self, quads: Any) -> NoReturn:  # noqa: N802 (rdflib's name)
        raise TypeError("a GraphUnion is read-only")

    def remove(self, triple: Any) -> NoReturn:
        raise TypeError("a GraphUnion is read-only")
