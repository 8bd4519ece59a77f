"""Differential fuzz of the SERVICE guard: pyoxigraph itself is the oracle.

Queries are assembled from fragments that hide the word SERVICE in comments, strings, IRIs and
escaped local names, or use it for real. Each query runs on a bare pyoxigraph Store whose only
SERVICE target is a listener on 127.0.0.1 that counts connections. If pyoxigraph ever contacts
the listener for a query the scan reported as SERVICE-free, the guard has a hole.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migration_kg.serve.query_scan import scan_query


class Listener:
    """Accepts and drops TCP connections on 127.0.0.1, counting them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/sparql"
        self.hits = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


FRAGMENTS = [
    "?s ?p ?o .",
    '?s ?p "SERVICE <{url}> {{ }}" .',
    "# SERVICE <{url}> {{ }}",
    "?s ex:a\\# ?o .",
    "?s ex:b ?o .",
    "SERVICE <{url}> {{ ?a ?b ?c }}",
    "service silent <{url}> {{ }}",
    "SERVICE ex:sparql {{ }}",
    "?s <urn:p#x> ?o .",
    "FILTER(?o != 'x # y')",
    "OPTIONAL {{ ?s ?p2 ?o2 }}",
    "?s ?p '''multi\nSERVICE <{url}> {{ }}\nline''' .",
    '?s ?p "a\\"#" .',
    'BIND("x"@en AS ?l)',
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6),
    separators=st.lists(st.sampled_from([" ", "\n", "\t"]), min_size=6, max_size=6),
)
def test_scan_sees_every_service_pyoxigraph_calls(
    listener: Listener, parts: list[str], separators: list[str]
) -> None:
    body = "".join(
        sep + part.format(url=listener.url) for sep, part in zip(separators, parts, strict=False)
    )
    prefix = listener.url.removesuffix("sparql")
    query = f"PREFIX ex: <{prefix}>\nSELECT * WHERE {{ ?s ?p ?o .{body}\n}}"
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.NamedNode("urn:o")))
    before = listener.hits
    with contextlib.suppress(SyntaxError, OSError, RuntimeError):
        list(store.query(query))
    if listener.hits > before:
        assert listener.url in scan_query(query).services, query


def test_the_oracle_sees_a_plain_service_call(listener: Listener) -> None:
    before = listener.hits
    store = ox.Store()
    with contextlib.suppress(OSError):
        list(store.query(f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"))
    assert listener.hits > before
