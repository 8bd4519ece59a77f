"""RemoteEngine's own rules: graph names mapped both ways, values bound, timeouts that hang up.

The query texts are rewritten, never re-parsed by hand here: each rewritten text is checked by
running it on pyoxigraph (a parse error would raise) and against the store.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyoxigraph as ox
import pytest

from migration_kg.core.errors import QueryTimeout, StoreError
from migration_kg.core.settings import Settings
from migration_kg.serve.publish import PublishOptions, publish
from migration_kg.serve.published import Release
from migration_kg.serve.remote import RemoteEngine
from migration_kg.serve.sparql_rewrite import absolute_iris, rename_graphs, with_values
from migration_kg.serve.store_http import StoreUrls
from store_support import Oxigraph, Virtuoso

G = "https://w3id.org/eu-migration-kg/graph/"
NAMES = {G + "data": G + "data/build/abc"}


@pytest.mark.parametrize(
    "query",
    [
        "CONSTRUCT { <s> <p> 1 } WHERE {}",
        "BASE <http://other.example/dir/> SELECT * { <x> ?p <../y> }",
        "PREFIX ex: <ns#> SELECT * { ex:a <http://abs.example/p> <#frag> }",
        'SELECT * { ?s ?p "<not-an-iri>" }',
    ],
)
def test_relative_iris_written_out_mean_what_the_base_makes_them(query: str) -> None:
    """Sent to a store as absolute IRIs, the query means what pyoxigraph makes of it with the
    endpoint's base (the query's own BASE winning)."""
    base = "http://127.0.0.1:8000/sparql"
    store = ox.Store()
    store.add(
        ox.Quad(
            ox.NamedNode("http://127.0.0.1:8000/x"),
            ox.NamedNode("http://127.0.0.1:8000/p"),
            ox.NamedNode("http://127.0.0.1:8000/y"),
        )
    )
    store.add(
        ox.Quad(
            ox.NamedNode("http://other.example/dir/x"),
            ox.NamedNode("http://p.example/"),
            ox.NamedNode("http://other.example/y"),
        )
    )
    store.add(
        ox.Quad(
            ox.NamedNode("http://127.0.0.1:8000/ns#a"),
            ox.NamedNode("http://abs.example/p"),
            ox.NamedNode("http://127.0.0.1:8000/sparql#frag"),
        )
    )
    rewritten = absolute_iris(query, base)
    expected = _rows(store.query(query, base_iri=base))
    actual = _rows(store.query(rewritten))  # no base: a relative IRI left is a syntax error
    assert actual == expected
    assert expected or '"' in query, "the fixture must make the query answer something"


def _rows(result: object) -> list[str]:
    if isinstance(result, ox.QueryTriples):
        return sorted(str(t) for t in result)
    assert isinstance(result, ox.QuerySolutions)
    return sorted(str([s[v] for v in result.variables]) for s in result)


def test_graph_names_are_renamed_only_where_they_name_a_graph() -> None:
    query = (
        "PREFIX g: <https://w3id.org/eu-migration-kg/graph/>\n"
        f"SELECT * FROM NAMED g:data WHERE {{ GRAPH <{G}data> {{ ?s ?p <{G}data> }}"
        f' FILTER(?s != "GRAPH <{G}data>") }} # GRAPH <{G}data>'
    )
    renamed = rename_graphs(query, NAMES)
    assert f"FROM NAMED <{G}data/build/abc>" in renamed
    assert f"GRAPH <{G}data/build/abc> {{ ?s ?p <{G}data> }}" in renamed  # object untouched
    assert f'"GRAPH <{G}data>"' in renamed and renamed.endswith(f"# GRAPH <{G}data>")
    ox.Store().query(renamed)  # still parses


@pytest.mark.parametrize(
    "query",
    [
        "SELECT ?o WHERE { ?s ?p ?o }",
        "SELECT ?o { ?s ?p ?o }",
        "ASK { ?s ?p ?o }",
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "CONSTRUCT WHERE { ?s ?p ?o }",
        "DESCRIBE ?s WHERE { ?s ?p ?o }",
        "SELECT ?o WHERE { { SELECT * WHERE { ?s ?p ?x } } ?s ?p ?o }",
    ],
)
def test_values_bind_like_substitution(query: str) -> None:
    store = ox.Store()
    ex = "http://example.org/"
    for s in ("a", "b"):
        store.add(ox.Quad(ox.NamedNode(ex + s), ox.NamedNode(ex + "p"), ox.Literal(s)))
    bound = {"s": ox.NamedNode(ex + "a")}
    expected = store.query(query.replace("?s", f"<{ex}a>"))  # what binding ?s must mean
    got = store.query(with_values(query, [bound]))
    if isinstance(expected, ox.QueryBoolean):
        assert bool(got) == bool(expected)
    else:
        assert sorted(map(str, got)) == sorted(map(str, expected))  # type: ignore[arg-type]


def stalled_store() -> tuple[str, threading.Event, threading.Thread]:
    """A TCP listener that accepts and never answers; sets the event when the client hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))
    hung_up = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.settimeout(10)
        try:
            while conn.recv(65536):
                pass
            hung_up.set()  # recv returned b"": the client closed the connection
        except OSError:
            pass
        finally:
            conn.close()
            listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/sparql", hung_up, thread


def remote_over(url: str) -> RemoteEngine:
    release = Release(
        ox.NamedNode(G + "x"), "stalled", {"triples": {}}, {G + "data": NAMES[G + "data"]}
    )
    return RemoteEngine(Settings(query_timeout_s=0.5), url, release)


@pytest.mark.parametrize("path", ["sync", "async"])
def test_timeout_abandons_the_remote_request_and_closes_the_connection(path: str) -> None:
    url, hung_up, thread = stalled_store()
    engine = remote_over(url)
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match=r"0\.5 s timeout"):
        if path == "sync":
            engine.query("ASK { ?s ?p ?o }")
        else:
            asyncio.run(engine.query_async("ASK { ?s ?p ?o }"))
    assert time.monotonic() - started < 2.0
    assert hung_up.wait(5), "the connection to the store was left open"
    thread.join(5)


def test_unreachable_store_is_a_store_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    listener.close()
    with pytest.raises(StoreError, match="cannot reach the store"):
        remote_over(url).query("ASK { ?s ?p ?o }")


def test_virtuoso_runaway_query_times_out_and_the_store_still_answers(
    virtuoso: Virtuoso, fixture_settings: Settings
) -> None:
    publish(
        virtuoso.settings(fixture_settings),
        StoreUrls.around(virtuoso.gsp),
        PublishOptions(progress=False),
    )
    engine = RemoteEngine.connect(fixture_settings, virtuoso.query, "fixture-0123456789abcdef")
    slow = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    with pytest.raises(QueryTimeout):
        engine.query(slow, timeout_s=0.5)
    assert engine.query("ASK { ?s ?p ?o }", timeout_s=10).boolean is True


def test_virtuoso_is_told_the_deadline_and_partial_answers_are_refused(
    virtuoso: Virtuoso, fixture_settings: Settings
) -> None:
    publish(
        virtuoso.settings(fixture_settings),
        StoreUrls.around(virtuoso.gsp),
        PublishOptions(progress=False),
    )
    engine = RemoteEngine.connect(fixture_settings, virtuoso.query, "fixture-0123456789abcdef")
    assert engine.virtuoso
    # under Virtuoso's cost limit, so it runs; stopped by the deadline sent with it, it would
    # answer a partial (wrong) count marked S1TAT: that must be a timeout, not a result
    slow = (
        "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i "
        "FILTER(STRLEN(STR(?c)) < STRLEN(STR(?f)) + STRLEN(STR(?i))) }"
    )
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        engine.query(slow, timeout_s=1.0)
    assert time.monotonic() - started < 5


def test_update_files_are_documented_and_parse_as_updates() -> None:
    from importlib.resources import files
    from pathlib import Path

    from migration_kg.core.queries import parse_query_file

    updates = sorted(Path(str(files("migration_kg").joinpath("sparql"))).glob("*.ru"))
    assert updates
    for path in updates:
        update = parse_query_file(path)
        assert update.title and update.description
        bound = with_values(update.text, [{"pointer": ox.NamedNode("http://example.org/p")}])
        ox.Store().update(bound)  # raises SyntaxError with line and column if it does not parse


def test_lean_client_and_httpx_give_the_same_answers(
    oxigraph: Oxigraph, fixture_settings: Settings
) -> None:
    publish(fixture_settings, StoreUrls.around(oxigraph.gsp), PublishOptions(progress=False))
    queries = [
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "ASK { ?s ?p ?o }",
    ]

    async def answers(lean: bool) -> list[bytes]:
        engine = RemoteEngine.connect(fixture_settings, oxigraph.query)
        engine._lean = lean
        choose = lambda offered: offered[0]  # noqa: E731
        return [(await engine.answer_async(q, choose)).body for q in queries]

    lean, plain = asyncio.run(answers(True)), asyncio.run(answers(False))
    assert lean == plain
    assert G.encode() + b"data" in lean[0]  # GRAPH ?g names the release's graph, not a version


def test_internal_answers_are_kept_even_when_cut_at_their_row_cap() -> None:
    """The pages' queries go to the store once per process, cut or not (a page's inbound links
    are cut at their cap for any well-linked resource)."""
    posts: list[bytes] = []
    rows = [{"s": {"type": "uri", "value": f"http://e/{i}"}} for i in range(5)]
    answer = json.dumps({"head": {"vars": ["s"]}, "results": {"bindings": rows}}).encode()

    class Store(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Store)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        engine = remote_over(f"http://127.0.0.1:{server.server_address[1]}/sparql")
        first = engine.query("SELECT ?s { ?s ?p ?o }", row_cap=3)
        again = engine.query("SELECT ?s { ?s ?p ?o }", row_cap=3)
        wider = engine.query("SELECT ?s { ?s ?p ?o }", row_cap=10)
    finally:
        server.shutdown()
        thread.join(5)
    assert first.truncated and len(first.rows) == 3
    assert again.rows == first.rows and again.truncated
    assert not wider.truncated and len(wider.rows) == 5
    assert len(posts) == 2  # the second cut answer came from the cache, the wider cap did not
