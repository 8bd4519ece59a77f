"""Serving commands: ``serve`` (embedded release or a remote store) and ``publish``."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from migration_kg.cli.app import app
from migration_kg.cli.reporting import reporting as _reporting
from migration_kg.core.errors import ConfigError
from migration_kg.core.settings import Settings


class Evaluation(StrEnum):
    PROCESS = "process"
    THREAD = "thread"


def _opt(help_text: str, env: str, **kwargs: Any) -> Any:
    """A serve option whose default comes from the settings (None = not given on the CLI)."""
    return typer.Option(help=f"{help_text} [env {env}]", show_default=False, **kwargs)


@app.command("serve")
def serve_command(
    host: Annotated[str | None, _opt("Interface to listen on (127.0.0.1).", "EMK_HOST")] = None,
    port: Annotated[int | None, _opt("TCP port (8000).", "EMK_PORT", min=0)] = None,
    timeout: Annotated[
        float | None, _opt("Query timeout in seconds (5).", "EMK_QUERY_TIMEOUT_S", min=0.01)
    ] = None,
    row_cap: Annotated[
        int | None, _opt("Most result rows returned (10000).", "EMK_RESULT_ROW_CAP", min=1)
    ] = None,
    max_request_bytes: Annotated[
        int | None,
        _opt("Largest request body or query string (1000000).", "EMK_MAX_REQUEST_BYTES", min=1),
    ] = None,
    public_base_url: Annotated[
        str | None, _opt("Where the namespace is served, if not here.", "EMK_PUBLIC_BASE_URL")
    ] = None,
    allow_service: Annotated[
        list[str] | None,
        _opt("Endpoint SERVICE may call (repeatable; none).", "EMK_SERVICE_ALLOWLIST"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, envvar="EMK_WORKERS", help="Server processes sharing the data [default: CPUs]."
        ),
    ] = None,
    cache: Annotated[
        bool,
        typer.Option(
            "--cache/--no-cache",
            envvar="EMK_RESULT_CACHE",
            help="Keep answers of this build in memory (per worker).",
        ),
    ] = False,
    cache_mb: Annotated[
        int,
        typer.Option(min=1, envvar="EMK_RESULT_CACHE_MB", help="Result cache size per worker."),
    ] = 64,
    evaluation: Annotated[
        Evaluation | None,
        _opt(
            "Where queries run: killable processes, or threads (no cancellation).", "EMK_EVALUATION"
        ),
    ] = None,
    evaluators: Annotated[
        int | None, _opt("Quick evaluator processes per worker (CPUs).", "EMK_EVALUATORS", min=0)
    ] = None,
    heavy_after: Annotated[
        float | None,
        _opt("Seconds after which a query is heavy (0.25).", "EMK_HEAVY_AFTER_S", min=0.001),
    ] = None,
    max_heavy: Annotated[
        int | None, _opt("Heavy queries at once per worker (8).", "EMK_MAX_HEAVY", min=1)
    ] = None,
    max_concurrent: Annotated[
        int | None,
        _opt("Other requests at once per worker (2 x evaluators).", "EMK_MAX_CONCURRENT", min=0),
    ] = None,
    queue_limit: Annotated[
        int | None, _opt("Waiting requests per lane and worker (64).", "EMK_QUEUE_LIMIT", min=0)
    ] = None,
    client_limit: Annotated[
        int | None,
        _opt("Requests in flight per client and worker (4).", "EMK_CLIENT_LIMIT", min=1),
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        _opt(
            "Proxy address/CIDR whose X-Forwarded-For names the client (repeatable).",
            "EMK_TRUSTED_PROXIES",
        ),
    ] = None,
    max_query_mb: Annotated[
        int | None,
        _opt("Memory one evaluation may add, MB (1024; 0 off).", "EMK_MAX_QUERY_MB", min=0),
    ] = None,
    max_worker_mb: Annotated[
        int | None,
        _opt("Growth before a worker is recycled, MB (1024; 0 off).", "EMK_MAX_WORKER_MB", min=0),
    ] = None,
    max_header_bytes: Annotated[
        int | None,
        _opt("Request line and headers, bytes (32768).", "EMK_MAX_HEADER_BYTES", min=256),
    ] = None,
    header_timeout: Annotated[
        float | None, _opt("Seconds to send the headers (10).", "EMK_HEADER_TIMEOUT_S", min=0.1)
    ] = None,
    body_timeout: Annotated[
        float | None, _opt("Seconds to send the body (30).", "EMK_BODY_TIMEOUT_S", min=0.1)
    ] = None,
    keepalive_timeout: Annotated[
        float | None,
        _opt(
            "Idle keep-alive connections are closed after (5 s).", "EMK_KEEPALIVE_TIMEOUT_S", min=1
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        _opt("Open connections per worker (1024).", "EMK_MAX_CONNECTIONS", min=1),
    ] = None,
    metrics_dir: Annotated[
        Path | None, _opt("Directory the workers share metrics in (temporary).", "EMK_METRICS_DIR")
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(help="Serve the release published in this SPARQL store (its query URL)."),
    ] = None,
    build_hash: Annotated[
        str | None,
        typer.Option("--build", help="With --store: serve this published build, not current."),
    ] = None,
) -> None:
    """Serve the built release over HTTP: the SPARQL endpoint, its service description and pages.

    The release is loaded once, then ``--workers`` processes share it copy-on-write. Every
    option's default comes from its EMK_* variable, else the documented default (README:
    "Operating a public endpoint").
    """
    with _reporting():
        settings = Settings.from_env(
            host=host,
            port=port,
            query_timeout_s=timeout,
            result_row_cap=row_cap,
            max_request_bytes=max_request_bytes,
            public_base_url=public_base_url,
            service_allowlist=tuple(allow_service) if allow_service else None,
            evaluation=evaluation.value if evaluation else None,
            evaluators=evaluators,
            heavy_after_s=heavy_after,
            max_heavy=max_heavy,
            max_concurrent=max_concurrent,
            queue_limit=queue_limit,
            client_limit=client_limit,
            trusted_proxies=tuple(trusted_proxy) if trusted_proxy else None,
            max_query_mb=max_query_mb,
            max_worker_mb=max_worker_mb,
            max_header_bytes=max_header_bytes,
            header_timeout_s=header_timeout,
            body_timeout_s=body_timeout,
            keepalive_timeout_s=keepalive_timeout,
            max_connections=max_connections,
            metrics_dir=metrics_dir,
        )
        _check_serving(settings)
        _enable_access_log()
        with _metrics_directory(settings.metrics_dir) as shared:
            from migration_kg.web.server import serve_release  # after the metrics directory

            serve_release(
                settings, shared, workers, cache_mb * 2**20 if cache else 0, store, build_hash
            )


def _check_serving(settings: Settings) -> None:
    """Settings the CLI's option checks could not see (they may come from EMK_* variables).

    Raises:
        ConfigError: naming the setting.
    """
    if settings.evaluation not in {e.value for e in Evaluation}:
        raise ConfigError(f"EMK_EVALUATION must be process or thread, not {settings.evaluation!r}")
    if not 0 <= settings.port <= 65535:
        raise ConfigError(f"EMK_PORT must be a TCP port, not {settings.port}")


@contextmanager
def _metrics_directory(given: Path | None) -> Iterator[Path]:
    """The directory prometheus_client's multiprocess mode shares values in, emptied first.

    Must be set in the environment before prometheus_client is imported (the library decides
    its storage at import): hence here, before the web modules load.
    """
    directory = given if given is not None else Path(tempfile.mkdtemp(prefix="emk-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    try:
        yield directory
    finally:
        if given is None:
            shutil.rmtree(directory, ignore_errors=True)


@app.command("publish")
def publish_command(
    to: Annotated[str, typer.Option("--to", help="The store's Graph Store Protocol URL.")],
    query_url: Annotated[
        str | None, typer.Option(help="The store's query URL [default: guessed from --to].")
    ] = None,
    update_url: Annotated[
        str | None, typer.Option(help="The store's update URL [default: guessed from --to].")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Say what would be done; write nothing.")] = False,
    rollback: Annotated[
        bool, typer.Option(help="Make the previous release current again.")
    ] = False,
    chunk: Annotated[int, typer.Option(min=1, help="Triples per GSP request.")] = 50_000,
    bulk_isql: Annotated[
        str | None,
        typer.Option(help="Local Virtuoso only: load with its bulk loader via isql HOST:PORT."),
    ] = None,
    bulk_dir: Annotated[
        Path | None,
        typer.Option(help="With --bulk-isql: a directory in Virtuoso's DirsAllowed."),
    ] = None,
) -> None:
    """Publish dist/ into a SPARQL store: versioned graphs, verified, then switched at once.

    Credentials come from EMK_STORE_USER and EMK_STORE_PASSWORD only. Exit 2 with one line
    on any failure; the store's current release is then unchanged.
    """
    from migration_kg.serve import publish as publishing
    from migration_kg.serve.store_http import StoreUrls

    settings = Settings.from_env()
    with _reporting():
        urls = StoreUrls.around(to, query_url, update_url)
        loader = publishing.bulk_loader(settings, bulk_isql, bulk_dir) if bulk_isql else None
        options = publishing.PublishOptions(chunk_triples=chunk, dry_run=dry_run, loader=loader)
        act = publishing.rollback if rollback else publishing.publish
        outcome = act(settings, urls, options)
    typer.echo(outcome.summary())
    for note in outcome.notes:
        typer.echo(f"  {note}")


def _enable_access_log() -> None:
    """Send the app's JSON access lines to stdout, one per request, without a prefix."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("migration_kg.web.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
