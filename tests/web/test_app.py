"""App lifecycle: no module-level state, clean shutdown, and the real release when one is built."""

from __future__ import annotations

import socket
from typing import Any

import httpx
from fastapi import FastAPI
from web_support import start_server

import migration_kg.web.app as app_module
import migration_kg.web.sparql as sparql_module
from migration_kg.core.namespaces import RELEASE_GRAPHS
from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine
from migration_kg.web import create_app


def test_no_module_level_app_or_engine() -> None:
    for module in (app_module, sparql_module):
        assert not [v for v in vars(module).values() if isinstance(v, FastAPI | QueryEngine)]


def test_two_apps_are_independent(settings: Settings, engine: QueryEngine) -> None:
    assert create_app(settings, engine) is not create_app(settings, engine)


def test_server_shuts_down_cleanly(settings: Settings, engine: QueryEngine) -> None:
    server = start_server(settings, engine)
    port = int(server.url.rsplit(":", 1)[1])
    assert httpx.get(server.url + "/health", trust_env=False).status_code == 200
    server.stop()
    assert not server.thread.is_alive()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_real_release_is_served(built_release: Any) -> None:
    """The session-built release of the repository (tests/conftest.py), served over loopback."""
    built = built_release
    engine = QueryEngine.from_release(built.settings)
    server = start_server(built.settings, engine)
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
            bindings = client.get("/sparql", params={"query": query}).json()["results"]["bindings"]
            graphs = {b["g"]["value"] for b in bindings}
            assert graphs <= {str(g) for g in RELEASE_GRAPHS} and len(graphs) >= 3
            count = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
            assert int(count.json()["results"]["bindings"][0]["n"]["value"]) > 100
            assert client.get("/sparql", headers={"accept": "text/turtle"}).status_code == 200
            assert client.get("/.well-known/void").status_code == 200
            assert engine.build_hash and engine.build_hash in client.get("/health").text
    finally:
        server.stop()
