"""CLI: each command over the API, errors as path:line:col on stderr, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from kg_helpers import REPO, BuiltRelease
from migration_kg.cli import app
from migration_kg.core.settings import Settings

COMMANDS = ["build", "validate", "query", "export", "stats", "periods", "serve"]
SHAPE = (
    "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
    "@prefix emk: <https://w3id.org/eu-migration-kg/ontology#> .\n"
    "<https://example.org/EventDate> a sh:NodeShape ; sh:targetClass emk:Event ;\n"
    "   sh:property [ sh:path emk:date ; sh:minCount 1 ] .\n"
)


def _env(settings: Settings) -> dict[str, str]:
    return {"EMK_ROOT": str(settings.root), "EMK_DIST_DIR": str(settings.dist)}


def _run(settings: Settings, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=_env(settings))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_build_prints_the_summary(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    code, out, _ = _run(settings, "build")
    assert code == 0
    for expected in ("triples per graph", "graph:data", "instances per class", "emk:Visit",
                     "validation: conforms", "stage timings", "reason"):  # fmt: skip
        assert expected in out
    assert (settings.dist / "manifest.json").is_file()


def test_build_reasoner_option(
    tiny_project: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = tiny_project()
    with caplog.at_level(logging.INFO, logger="migration_kg.build.reasoning"):
        assert _run(settings, "build")[0] == 0
        assert _run(settings, "build", "--reasoner", "owlrl")[0] == 0
    assert "reasoner rules inferred" in caplog.text
    assert "reasoner owlrl inferred" in caplog.text
    code, _, err = _run(settings, "build", "--reasoner", "hermit")
    assert code == 2
    assert "hermit" in err


def test_malformed_source_exits_2_with_path_line_col(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    data = settings.data_dir / "2025-03" / "01-tiny.ttl"
    data.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b .\n", encoding="utf-8")
    code, _, err = _run(settings, "build")
    assert code == 2
    assert err.startswith(f"{data}:2:")
    assert not settings.dist.exists()


def test_shape_violation_exits_1(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project(shapes={"events.ttl": SHAPE})
    code, _, err = _run(settings, "build")
    assert code == 1
    assert "VIOLATION" in err
    assert "data/2025-03/01-tiny.ttl" in err
    code, out, _ = _run(settings, "validate", "--format", "json")
    assert code == 1
    assert json.loads(out)["counts"]["violation"] == 1


def test_validate_formats(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    assert _run(settings, "validate")[0] == 0
    code, out, _ = _run(settings, "validate", "--format", "turtle")
    assert code == 0
    assert "ValidationReport" in out


def test_usage_errors_exit_2(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    assert _run(settings, "export", "--format", "png")[0] == 2
    assert _run(settings, "no-such-command")[0] == 2
    code, _, err = _run(settings, "query")
    assert code == 2
    assert "exactly one" in err


def test_periods_writes_the_file(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    target = settings.root / "data" / "shared" / "periods.ttl"
    target.unlink()
    code, out, _ = _run(settings, "periods")
    assert code == 0
    assert target.is_file()
    assert str(target) in out


def test_export_and_stats_need_a_release(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    code, _, err = _run(settings, "stats")
    assert code == 2
    assert "migration-kg build" in err
    assert _run(settings, "export")[0] == 2


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld", "rdfxml", "trig", "nquads"])
def test_export_copies_the_release_artefact(
    built_release: BuiltRelease, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "export.out"
    code, _, _ = _run(built_release.settings, "export", "--format", fmt, "-o", str(out))
    assert code == 0
    extension = {"ntriples": "nt", "jsonld": "jsonld", "rdfxml": "rdf", "turtle": "ttl"}
    name = f"emk.{extension.get(fmt, 'nq' if fmt == 'nquads' else fmt)}"
    assert out.read_bytes() == (built_release.dist / name).read_bytes()


def test_stats_reads_the_manifest(built_release: BuiltRelease) -> None:
    code, out, _ = _run(built_release.settings, "stats")
    assert code == 0
    assert f"release {built_release.result.version}" in out
    assert "graph:inferred" in out


def test_query_table_and_formats(built_release: BuiltRelease) -> None:
    prefixed = (
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT ?label WHERE {\n"
        "  <https://w3id.org/eu-migration-kg/id/country/tunisia> rdfs:label ?label }"
    )
    code, out, _ = _run(built_release.settings, "query", prefixed)
    assert code == 0
    assert "Tunisia" in out
    assert "(1 row)" in out
    code, out, _ = _run(built_release.settings, "query", prefixed, "--format", "json")
    assert json.loads(out)["results"]["bindings"][0]["label"]["value"] == "Tunisia"
    code, out, _ = _run(built_release.settings, "query", "ASK { ?s ?p ?o }")
    assert (code, out.strip()) == (0, "true")


def test_query_by_id_and_file(built_release: BuiltRelease) -> None:
    query = sorted((REPO / "queries").rglob("*.rq"))[0]
    code, by_file, _ = _run(built_release.settings, "query", "--file", str(query), "-f", "csv")
    assert code == 0
    code, by_id, _ = _run(built_release.settings, "query", "--id", query.stem, "-f", "csv")
    assert code == 0
    assert by_id == by_file


def test_query_syntax_error_exits_2(built_release: BuiltRelease) -> None:
    code, _, err = _run(built_release.settings, "query", "SELEC ?x")
    assert code == 2
    assert err.startswith("query:1:")
    code, _, err = _run(built_release.settings, "query", "--id", "no-such-query")
    assert code == 2
    assert "no-such-query" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_answers_sparql_on_127_0_0_1(built_release: BuiltRelease) -> None:
    """`migration-kg serve` in its own process, asked one query over loopback, then stopped."""
    port = _free_port()
    env = {
        **os.environ,
        **_env(built_release.settings),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    code = "from migration_kg.cli import main; main()"
    server = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/sparql"
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(url, params={"query": "ASK { ?s ?p ?o }"}, trust_env=False)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["boolean"] is True
    finally:
        server.terminate()
        server.wait(timeout=20)
