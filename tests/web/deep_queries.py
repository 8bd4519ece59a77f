"""Queries that recurse in pyoxigraph: one generator per construct, sized by a count ``n``.

Each construct is a way SPARQL text turns into recursion in the parser, the optimiser or the
evaluator (measured: bench/intake_stack.py). The intake tests run each one at the largest size
the limits admit and one step past it; the stack benchmark finds the stack each one needs.
Results stay small (LIMIT 1 where patterns would multiply), so that only depth is tested.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine
from migration_kg.serve.intake import QueryLimits, QueryTooLarge, check_query

T = "?s ?p ?o"
P = "<http://e/p>"


def _chain(item: str, sep: str, n: int) -> str:
    return sep.join([item] * n)


def _numbered(template: str, n: int, sep: str = " ") -> str:
    return sep.join(template.format(i=i) for i in range(n))


CONSTRUCTS: dict[str, Callable[[int], str]] = {
    # nesting
    "groups": lambda n: "SELECT * WHERE " + "{" * n + f" {T} " + "}" * n,
    "parens": lambda n: f"SELECT * WHERE {{ {T} FILTER(" + "(" * n + "1" + ")" * n + ") }",
    "functions": lambda n: (
        f"SELECT * WHERE {{ {T} BIND(" + "STR(" * n + "?o" + ")" * n + " AS ?c) }"
    ),
    "not": lambda n: f"SELECT * WHERE {{ {T} FILTER(" + "!(" * n + "true" + ")" * n + ") }",
    "exists": lambda n: f"SELECT * WHERE {{ {T} " + f"FILTER EXISTS {{ {T} " * n + "}" * n + " }",
    "subselects": lambda n: "SELECT * WHERE " + "{ SELECT * WHERE " * n + f"{{ {T} }}" + " }" * n,
    "graphs": lambda n: "SELECT * WHERE { " + "GRAPH ?g { " * n + T + " }" * n + " }",
    "optional-nest": lambda n: f"SELECT * WHERE {{ {T} " + f"OPTIONAL {{ {T} " * n + "}" * n + " }",
    "path-parens": lambda n: f"SELECT * WHERE {{ ?s {'(' * n}{P}{')' * n} ?o }}",
    "path-mods": lambda n: f"SELECT * WHERE {{ ?s {'(' * n}{P}{')*' * n} ?o }} LIMIT 1",
    "collection-nest": lambda n: f"SELECT * WHERE {{ ?s ?p {'(' * n}1{')' * n} }} LIMIT 1",
    "blank-nodes": lambda n: (
        "SELECT * WHERE { ?s ?p " + "[ ?p " * n + "1" + " ]" * n + " } LIMIT 1"
    ),
    "triple-terms": lambda n: f"SELECT * WHERE {{ ?s ?p {'<<( ?s ?p ' * n}?o{' )>>' * n} }}",
    "reifiers": lambda n: "SELECT * WHERE { " + "<< " * n + T + " >> ?p ?o" * n + " } LIMIT 1",
    # chains
    "sum": lambda n: f"SELECT * WHERE {{ {T} FILTER(?o != {_chain('1', ' + ', n)}) }}",
    "product": lambda n: f"SELECT * WHERE {{ {T} FILTER(?o != {_chain('1', ' * ', n)}) }}",
    "or": lambda n: f"SELECT * WHERE {{ {T} FILTER({_chain('?o = 1', ' || ', n)}) }}",
    "and": lambda n: f"SELECT * WHERE {{ {T} FILTER({_chain('?o != 1', ' && ', n)}) }}",
    "bangs": lambda n: f"SELECT * WHERE {{ {T} FILTER({'!' * n}true) }}",
    "joins": lambda n: f"SELECT * WHERE {{ {_numbered('{{ ?s ?p ?o{i} }}', n)} }} LIMIT 1",
    "unions": lambda n: f"SELECT * WHERE {{ {_chain('{ ?s ?p ?o }', ' UNION ', n)} }}",
    "optionals": lambda n: f"SELECT * WHERE {{ {T} {_chain('OPTIONAL { ?s ?p ?o }', ' ', n)} }}",
    "minuses": lambda n: (
        f"SELECT * WHERE {{ {T} {_chain('MINUS { ?s ?p <http://e/x> }', ' ', n)} }}"
    ),
    "filters": lambda n: f"SELECT * WHERE {{ {T} {_chain('FILTER(?o != 1)', ' ', n)} }}",
    "binds": lambda n: f"SELECT * WHERE {{ {T} {_numbered('BIND(1 AS ?b{i})', n)} }}",
    "patterns": lambda n: f"SELECT * WHERE {{ {_numbered('?s ?p ?o{i} .', n)} }} LIMIT 1",
    "objects": lambda n: f"SELECT * WHERE {{ ?s ?p {_numbered('?o{i}', n, ', ')} }} LIMIT 1",
    "predicates": lambda n: f"SELECT * WHERE {{ ?s {_numbered('?p ?o{i}', n, ' ; ')} }} LIMIT 1",
    "path-steps": lambda n: f"SELECT * WHERE {{ ?s {_chain(P, '/', n)} ?o }}",
    "path-alternatives": lambda n: f"SELECT * WHERE {{ ?s {_chain(P, '|', n)} ?o }}",
    "collection": lambda n: f"SELECT * WHERE {{ ?s ?p ({_chain('1', ' ', n)}) }}",
    "projections": lambda n: f"SELECT {_numbered('(1 AS ?v{i})', n)} WHERE {{ {T} }}",
    "aggregates": lambda n: f"SELECT {_numbered('(COUNT(?o) AS ?c{i})', n)} WHERE {{ {T} }}",
    "order-expressions": lambda n: f"SELECT * WHERE {{ {T} }} ORDER BY {_chain('STR(?o)', ' ', n)}",
    "having": lambda n: (
        f"SELECT ?o WHERE {{ {T} }} GROUP BY ?o HAVING({_chain('COUNT(?s) > 0', ' && ', n)})"
    ),
    "describe": lambda n: "DESCRIBE " + _chain("<http://e/s>", " ", n),
    "template": lambda n: f"CONSTRUCT {{ {_numbered('?s ?p ?o{i} .', n)} }} WHERE {{ ?s ?p ?o0 }}",
}
# Flat in pyoxigraph (measured to 131,072 items on a 1 MiB stack), and flat to the intake:
# bounded by length only. (GROUP BY and ORDER BY lists are flat too, but the intake counts
# them as chains: a conservative estimate, as for any token it does not know to be flat.)
FLAT_SIZE = 5_000
FLAT: dict[str, Callable[[int], str]] = {
    "values": lambda n: f"SELECT * WHERE {{ VALUES ?o {{ {_chain('1', ' ', n)} }} {T} }}",
    "values-rows": lambda n: f"SELECT * WHERE {{ VALUES (?o ?z) {{ {_chain('(1 2)', ' ', n)} }} }}",
    "in": lambda n: f"SELECT * WHERE {{ {T} FILTER(?o IN ({_chain('1', ', ', n)})) }}",
    "concat": lambda n: f"SELECT * WHERE {{ {T} BIND(CONCAT({_chain('1', ', ', n)}) AS ?c) }}",
}


def admitted(text: Callable[[int], str], limits: QueryLimits) -> int:
    """The largest ``n`` whose query the limits admit (each construct grows with ``n``)."""

    def fits(n: int) -> bool:
        try:
            check_query(text(n), limits)
        except QueryTooLarge:
            return False
        return True

    low, high = 1, 2
    while fits(high):
        low, high = high, high * 2
        if high > 1 << 20:
            raise ValueError("this construct does not grow deeper with n")
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def tiny_store() -> ox.Store:
    """Three quads: enough for every construct to parse, plan and evaluate."""
    store = ox.Store()
    for i in range(3):
        node = ox.NamedNode("http://e/s")
        store.add(ox.Quad(node, ox.NamedNode("http://e/p"), ox.Literal(f"x{i}"), node))
    return store


def run_on_thread(store: ox.Store, text: str, stack_kib: int) -> str:
    """Evaluate ``text`` on a new thread of ``stack_kib``; a crash ends the process."""
    outcome: list[str] = []

    def evaluate() -> None:
        try:
            result = store.query(text, use_default_graph_as_union=True)
            size = 1 if isinstance(result, ox.QueryBoolean) else len(list(result))
            del result
            outcome.append(f"{size} results")
        except (SyntaxError, ValueError, OSError, RuntimeError) as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")

    default = threading.stack_size(stack_kib * 1024)
    try:
        thread = threading.Thread(target=evaluate)
        thread.start()
    finally:
        threading.stack_size(default)
    thread.join()
    return outcome[0]


def main(argv: list[str]) -> None:
    """Child process for the tests: evaluate constructs at their largest admitted size.

    ``deep_queries.py engine DIST NAME…`` goes through ``QueryEngine`` (its threads, its
    stack, its limits from ``EMK_*``); ``deep_queries.py thread KIB NAME…`` uses a bare thread
    of KIB KiB. One line per construct, printed before it runs, so that a crash names it.
    """
    mode, where, names = argv[0], argv[1], argv[2:]
    settings = Settings.from_env(dist_dir=Path(where) if mode == "engine" else None)
    limits = QueryLimits.from_settings(settings)
    engine = QueryEngine.from_release(settings) if mode == "engine" else None
    store = tiny_store()
    for name in names:
        build = {**CONSTRUCTS, **FLAT}[name]
        text = build(admitted(build, limits) if name in CONSTRUCTS else FLAT_SIZE)
        print(f"running {name}", flush=True)
        if engine is not None:
            result = engine.query(text, timeout_s=60)
            print(f"done {name}: {len(result.rows)} rows", flush=True)
        else:
            print(f"done {name}: {run_on_thread(store, text, int(where))}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
