"""QueryEngine: loading, union default graph, dataset parameters, limits and refusals."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from web_support import BUILD_HASH, COUNTRIES, EX, ROW_CAP, G

from migration_kg.core.errors import BadRequest, QuerySyntaxError, QueryTimeout, SourceError
from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine
from migration_kg.serve.query_scan import UNRESOLVED, scan_query

RDFS_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
LABELS = f"SELECT ?l WHERE {{ ?s {RDFS_LABEL} ?l }} ORDER BY ?l"
EMK = "https://w3id.org/eu-migration-kg/ontology#"
# 62 quads to the fourth power: ~15 M solutions, seconds of work, cut by the 1.5 s timeout.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def test_from_release_loads_manifest_and_quads(engine: QueryEngine) -> None:
    assert engine.build_hash == BUILD_HASH
    assert len(engine) == 62


def test_missing_release_says_run_build(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="run `migration-kg build`") as info:
        QueryEngine.from_release(Settings(dist_dir=tmp_path))
    assert info.value.path == tmp_path / "emk.trig"


def test_broken_release_names_file_line_column(tmp_path: Path) -> None:
    (tmp_path / "emk.trig").write_text("<http://g> {\n <a> <b> \n}\n", encoding="utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps({"build_hash": "x"}), encoding="utf-8")
    with pytest.raises(SourceError) as info:
        QueryEngine.from_release(Settings(dist_dir=tmp_path))
    assert info.value.path.name == "emk.trig"
    assert info.value.line is not None


def test_default_graph_is_union_of_named_graphs(engine: QueryEngine) -> None:
    result = engine.query(LABELS)
    assert result.kind == "SELECT"
    assert result.variables == ["l"]
    # 8 countries + 2 ontology terms + 1 dataset, drawn from three different graphs
    assert len(result.rows) == len(COUNTRIES) + 3
    assert ("Italy",) in result.rows


def test_protocol_graph_iris_replace_the_union(engine: QueryEngine) -> None:
    only_ontology = engine.query(LABELS, default_graph_uris=[G + "ontology"])
    assert only_ontology.rows == [("Country",), ("population",)]
    named = engine.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
        named_graph_uris=[G + "links"],
    )
    assert named.rows == [(G + "links", str(len(COUNTRIES)))]


def test_from_clause_is_respected_not_overridden_by_union(engine: QueryEngine) -> None:
    result = engine.query(f"SELECT ?l FROM <{G}ontology> WHERE {{ ?s {RDFS_LABEL} ?l }}")
    assert sorted(result.rows) == [("Country",), ("population",)]


def test_from_unknown_iri_is_not_fetched(engine: QueryEngine) -> None:
    result = engine.query("SELECT * FROM <http://127.0.0.1:9/nothing> WHERE { ?s ?p ?o }")
    assert result.rows == []


def test_row_cap_truncates_and_says_so(engine: QueryEngine) -> None:
    result = engine.query("SELECT * WHERE { ?s ?p ?o }")
    assert result.truncated and len(result.rows) == ROW_CAP
    graph = engine.query("CONSTRUCT WHERE { ?s ?p ?o }")
    assert graph.truncated and len(graph.triples) == ROW_CAP
    small = engine.query("SELECT * WHERE { ?s ?p ?o } LIMIT 5")
    assert not small.truncated


def test_ask_construct_describe(engine: QueryEngine) -> None:
    assert engine.query("ASK { ?s ?p ?o }").boolean is True
    described = engine.query(f"DESCRIBE <{EX}country/italy>")
    assert described.kind == "DESCRIBE" and described.triples
    built = engine.query(f"CONSTRUCT {{ ?s a ?c }} WHERE {{ GRAPH <{G}data> {{ ?s a ?c }} }}")
    assert built.kind == "CONSTRUCT" and len(built.triples) == len(COUNTRIES)
    assert built.serialize(RdfFormat.NTRIPLES).count(b"\n") == len(COUNTRIES)


def test_serialize_refuses_the_other_family(engine: QueryEngine) -> None:
    from migration_kg.core.errors import NotAcceptable

    with pytest.raises(NotAcceptable):
        engine.query("ASK { ?s ?p ?o }").serialize(RdfFormat.TURTLE)
    with pytest.raises(NotAcceptable):
        engine.query("CONSTRUCT WHERE { ?s ?p ?o }").serialize(ResultFormat.JSON)


def test_syntax_error_has_line_and_column(engine: QueryEngine) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        engine.query("SELECT ?s\nWHERE { ?s ?p }")
    assert info.value.line == 2
    assert info.value.column is not None and info.value.column > 10


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <a:a> <a:b> <a:c> }",
        "PREFIX x: <http://x/>\n# comment\ndelete where { ?s ?p ?o }",
        "LOAD <http://127.0.0.1:9/data.ttl>",
        "CLEAR ALL",
        "DROP GRAPH <http://g>",
    ],
)
def test_updates_are_refused(engine: QueryEngine, update: str) -> None:
    with pytest.raises(BadRequest, match="read-only"):
        engine.query(update)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { service silent <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        "PREFIX r: <http://127.0.0.1:9/>\nSELECT * WHERE { SERVICE r:sparql { ?s ?p ?o } }",
        "SELECT * WHERE { BIND(<http://127.0.0.1:9/> AS ?x) SERVICE ?x { ?s ?p ?o } }",
        "BASE <http://127.0.0.1:9/>\nSELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }",
        # an escaped '#' in a local name is not a comment: the SERVICE after it is live
        "PREFIX ex: <urn:x:>\nSELECT * WHERE { ?s ex:a\\# ?o . SERVICE <http://127.0.0.1:9/> { } }",
        "SELECT * WHERE {\n# SERVICE <http://no/> {}\n  SERVICE <http://127.0.0.1:9/> { } }",
    ],
)
def test_service_outside_allowlist_is_refused(engine: QueryEngine, query: str) -> None:
    with pytest.raises(BadRequest, match="SERVICE is not allowed"):
        engine.query(query)


def test_scan_ignores_keywords_inside_strings_iris_comments_and_names() -> None:
    scan = scan_query(
        "PREFIX ex: <http://ex/SERVICE>\n"
        'SELECT ?service ?from WHERE { ?s ex:service "SERVICE <x>" .'
        " # SERVICE <http://evil/>\n ?s ex:from 'FROM' }"
    )
    assert scan.form == "SELECT" and scan.services == () and not scan.has_from
    assert scan_query("SELECT * WHERE { SERVICE ?x {} }").services == (UNRESOLVED,)
    assert scan_query("SELECT * FROM <g> WHERE {}").has_from
    assert scan_query("SELECT * { SERVICE <http://a\\u002Fb> {} }").services == ("http://a/b",)


def test_timeout_is_enforced(engine: QueryEngine) -> None:
    start = time.monotonic()
    with pytest.raises(QueryTimeout):
        engine.query(SLOW, timeout_s=0.3)
    assert time.monotonic() - start < 1.5


def test_rows_are_human_readable(engine: QueryEngine) -> None:
    result = engine.query(
        f"SELECT ?r ?b ?u WHERE {{ <{EX}country/italy> <{EMK}rank> ?r"
        " OPTIONAL { ?x <urn:none> ?u } BIND(BNODE('x') AS ?b) }"
    )
    (row,) = result.rows
    assert row[0] == "1" and row[1] is not None and row[1].startswith("_:") and row[2] is None


def test_query_async_matches_query_and_times_out(engine: QueryEngine) -> None:
    import asyncio

    async def scenario() -> None:
        assert (await engine.query_async(LABELS)).rows == engine.query(LABELS).rows
        with pytest.raises(QueryTimeout):
            await engine.query_async(SLOW, timeout_s=0.3)
        with pytest.raises(BadRequest, match="read-only"):
            await engine.query_async("CLEAR ALL")

    asyncio.run(scenario())


def test_queries_wait_for_a_free_worker_and_time_out_as_busy(settings: Settings) -> None:
    import asyncio
    import threading

    engine = QueryEngine.from_release(settings)
    engine.parallelism = 1
    caller = threading.Thread(target=_abandon_slow_query, args=(engine,), daemon=True)
    caller.start()
    time.sleep(0.2)  # the slow query now holds the only worker
    with pytest.raises(QueryTimeout, match="busy"):
        engine.query(LABELS, timeout_s=0.2)
    with pytest.raises(QueryTimeout, match="busy"):
        asyncio.run(engine.query_async(LABELS, timeout_s=0.2))
    caller.join(5)
    # Abandoned at its timeout, the slow query still runs, but a new worker took over.
    assert engine.query(LABELS, timeout_s=1.0).rows


def _abandon_slow_query(engine: QueryEngine) -> None:
    with pytest.raises(QueryTimeout, match="exceeded"):
        engine.query(SLOW, timeout_s=1.0)


def test_workers_are_reused_not_started_per_query(settings: Settings) -> None:
    import threading

    engine = QueryEngine.from_release(settings)
    job = engine._prepare(LABELS, (), (), None)  # white-box: which thread runs each query
    threads = {engine._workers.run(job, lambda *_: threading.get_ident()) for _ in range(50)}
    assert len(threads) <= engine._workers.parallel
    assert threading.get_ident() not in threads


def _answer(engine: QueryEngine, text: str, fmt: ResultFormat | RdfFormat) -> Any:
    import asyncio

    return asyncio.run(engine.answer_async(text, lambda offered: fmt))


@pytest.mark.parametrize("fmt", list(ResultFormat))
def test_answers_match_collected_results_and_the_row_cap(
    engine: QueryEngine, fmt: ResultFormat
) -> None:
    import pyoxigraph as ox

    for text, truncated in (
        ("SELECT * WHERE { ?s ?p ?o }", True),  # more rows than the cap
        (f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {ROW_CAP}", False),  # exactly the cap
        ("SELECT * WHERE { ?s ?p ?o } LIMIT 3", False),
        ("SELECT ?x WHERE { ?x <urn:none> ?y }", False),
    ):
        answer = _answer(engine, text, fmt)
        collected = engine.query(text)
        assert answer.truncated is truncated is collected.truncated
        if fmt is not ResultFormat.CSV:  # CSV is lossy: pyoxigraph does not read it back
            parsed = ox.parse_query_results(answer.body, fmt.oxigraph)
            assert [tuple(row) for row in parsed] == collected.terms


def test_row_markers_inside_values_only_cost_a_second_evaluation(engine: QueryEngine) -> None:
    # Each value holds the JSON row separator and a newline: the native writer's count says
    # "maybe over the cap", the rows are collected in Python, and the answer is still whole.
    markers = "},{\\n" * (ROW_CAP + 1)
    text = f'SELECT ?v WHERE {{ VALUES ?i {{ 1 2 3 }} BIND(CONCAT("{markers}", STR(?i)) AS ?v) }}'
    for fmt in (ResultFormat.JSON, ResultFormat.CSV):
        answer = _answer(engine, text, fmt)
        assert not answer.truncated
        assert answer.body == engine.query(text).serialize(fmt)


def test_answers_graphs_ask_and_refusals(engine: QueryEngine) -> None:
    from migration_kg.core.errors import NotAcceptable

    ask = _answer(engine, "ASK { ?s ?p ?o }", ResultFormat.JSON)
    assert ask.kind == "ASK" and b"true" in ask.body
    graph = _answer(engine, "CONSTRUCT WHERE { ?s ?p ?o }", RdfFormat.NTRIPLES)
    assert graph.truncated and graph.body.count(b"\n") == ROW_CAP
    with pytest.raises(NotAcceptable):
        _answer(engine, "CONSTRUCT WHERE { ?s ?p ?o }", ResultFormat.JSON)
    with pytest.raises(QuerySyntaxError):  # a syntax error wins over negotiation
        _answer(engine, "SELECT ?x WHERE {", RdfFormat.TURTLE)


def test_engine_counts_quads_once(engine: QueryEngine) -> None:
    assert len(engine) == len(engine._store)  # white-box: the cached count is the store's
