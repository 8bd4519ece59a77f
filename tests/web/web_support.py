"""Helpers for the web tests: the fixture release, its constants, a live uvicorn server.

The fixture release is written by hand (not by the build) so that these tests pin the endpoint's
behaviour independently of the data. The server is a real uvicorn on a free 127.0.0.1 port,
started once per session and stopped at the end; no test sends traffic anywhere else.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import uvicorn

from migration_kg.core.settings import Settings
from migration_kg.serve.backend import Backend
from migration_kg.web import create_app
from migration_kg.web.cache import ResultCache
from migration_kg.web.connection import ConnectionLimits, protocol_class

EX = "https://w3id.org/eu-migration-kg/id/"
G = "https://w3id.org/eu-migration-kg/graph/"
ROW_CAP = 60
TIMEOUT_S = 1.5
MAX_BYTES = 20_000
BUILD_HASH = "fixture-0123456789abcdef"
COUNTRIES = ("italy", "spain", "greece", "malta", "cyprus", "tunisia", "morocco", "senegal")


def fixture_trig() -> str:
    """A few dozen quads over the five release graphs, incl. a language tag and typed values."""
    lines = [
        "@prefix emk: <https://w3id.org/eu-migration-kg/ontology#> .",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .",
        "@prefix void: <http://rdfs.org/ns/void#> .",
        f"<{G}ontology> {{",
        "  emk:Country a owl:Class ; rdfs:label 'Country'@en .",
        "  emk:population a owl:DatatypeProperty ; rdfs:label 'population'@en .",
        "}",
        f"<{G}data> {{",
    ]
    for rank, name in enumerate(COUNTRIES, start=1):
        lines.append(
            f"  <{EX}country/{name}> a emk:Country ; rdfs:label '{name.title()}'@en ;"
            f" emk:rank {rank} ; emk:share {rank}.5 ;"
            f' emk:note "line one\\nline two, with \\"quotes\\"\\ttab" .'
        )
    lines += [
        "}",
        f"<{G}links> {{",
        *(f"  <{EX}country/{n}> owl:sameAs <http://example.org/{n}> ." for n in COUNTRIES),
        "}",
        f"<{G}inferred> {{",
        *(f"  <{EX}country/{n}> a owl:NamedIndividual ." for n in COUNTRIES),
        "}",
        f"<{G}metadata> {{",
        f"  <{EX}dataset> a void:Dataset ; rdfs:label 'EU Migration KG (fixture)'@en .",
        "}",
    ]
    return "\n".join(lines) + "\n"


def write_release(dist: Path) -> Path:
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "emk.trig").write_text(fixture_trig(), encoding="utf-8")
    counts: dict[str, int] = {}
    for quad in ox.parse(fixture_trig(), format=ox.RdfFormat.TRIG):
        graph = str(getattr(quad.graph_name, "value", ""))
        counts[graph] = counts.get(graph, 0) + 1
    # triples per graph, as the build writes them: publish verifies a store against these
    manifest = {"build_hash": BUILD_HASH, "files": ["emk.trig"], "triples": counts}
    (dist / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return dist


@dataclass
class LiveServer:
    """A uvicorn server in a thread, bound to a socket we opened on 127.0.0.1:0."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_server(
    settings: Settings, engine: Backend, result_cache: ResultCache | None = None
) -> LiveServer:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, engine, result_cache=result_cache)
    limits = ConnectionLimits.from_settings(settings)  # the connection layer `serve` runs with
    config = uvicorn.Config(app, log_level="warning", access_log=False, http=protocol_class(limits))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return LiveServer(f"http://127.0.0.1:{port}", server, thread)
