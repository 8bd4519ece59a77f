"""A remote store's answers read back as terms (the remote backend's half of results I/O).

SPARQL JSON results are read with ``json`` rather than pyoxigraph's parser because stores
differ in what they write there: Virtuoso labels blank nodes ``nodeID://b1`` (not a valid
blank node id) and still uses SPARQL 1.0's ``typed-literal``. Graph results come as N-Triples.
Terms equal to a versioned graph IRI are renamed back to the release's graph IRI, so a client
reading ``GRAPH ?g`` sees the same names as from the embedded store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox

from migration_kg.core.errors import BadRequest
from migration_kg.serve.results_io import Term

_BLANK_ID = re.compile(r"[^A-Za-z0-9_]")
Renames = Mapping[ox.NamedNode, ox.NamedNode]


def read_json_results(
    body: bytes, renames: Renames, row_cap: int
) -> tuple[list[str], list[tuple[Term | None, ...]], bool | None, bool]:
    """(variables, rows, boolean, truncated) from a SPARQL JSON results document.

    Raises:
        BadRequest: the store's answer is not SPARQL JSON results.
    """
    try:
        document: dict[str, Any] = json.loads(body)
        if "boolean" in document:
            return [], [], bool(document["boolean"]), False
        variables = [str(v) for v in document["head"].get("vars", [])]
        bindings = document["results"]["bindings"]
        rows = [
            tuple(_term(b[v], renames) if v in b else None for v in variables)
            for b in bindings[:row_cap]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"the store's answer is not SPARQL JSON results: {exc}") from exc
    return variables, rows, None, len(bindings) > row_cap


def read_ntriples(body: bytes, renames: Renames, row_cap: int) -> tuple[list[ox.Triple], bool]:
    """(triples, truncated) from an N-Triples answer, cut at ``row_cap``.

    Raises:
        BadRequest: the answer does not parse as N-Triples.
    """
    triples: list[ox.Triple] = []
    try:
        for quad in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
            if len(triples) == row_cap:
                return triples, True
            triple = quad.triple
            if renames:
                triple = ox.Triple(
                    _rename(triple.subject, renames),
                    triple.predicate,
                    _rename(triple.object, renames),
                )
            triples.append(triple)
    except SyntaxError as exc:
        raise BadRequest(f"the store's answer is not N-Triples: {exc}") from exc
    return triples, False


def _term(cell: Mapping[str, str], renames: Renames) -> Term:
    kind, value = cell["type"], cell["value"]
    if kind == "uri":
        iri = ox.NamedNode(value)
        return renames.get(iri, iri)
    if kind == "bnode":
        return ox.BlankNode(_BLANK_ID.sub("_", value.removeprefix("nodeID://")) or "b")
    if "xml:lang" in cell:
        return ox.Literal(value, language=cell["xml:lang"])
    datatype = cell.get("datatype")
    return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)


def _rename(term: Any, renames: Renames) -> Any:
    return renames.get(term, term) if isinstance(term, ox.NamedNode) else term
