"""Command line: ``migration-kg build | validate | query | export | stats | audit | serve``, and
``edition new | draft | diff | release`` (in ``cli_editions``).

Top of the flow: each command is a few lines over the package API. Errors are printed as
``path:line:col: message`` on stderr; exit codes are 0 ok, 1 shapes violated, 2 bad input or
usage (as pySHACL does, and as the README documents).
"""

from __future__ import annotations

import json
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

from migration_kg.build.periods import write_periods
from migration_kg.build.pipeline import BuildResult, build, check
from migration_kg.cli_editions import register
from migration_kg.cli_editions import reporting as _reporting
from migration_kg.core.errors import ConfigError, SourceError
from migration_kg.core.formats import RdfFormat, ResultFormat
from migration_kg.core.names import MANIFEST, artefact
from migration_kg.core.namespaces import GRAPH, compact_iri
from migration_kg.core.options import Reasoner
from migration_kg.core.queries import load_catalogue
from migration_kg.core.settings import Settings
from migration_kg.editions.audit import audit_release, render_audit
from migration_kg.editions.scaffold import check_edition_name

app = typer.Typer(
    help="Build, check, query and serve the EU Migration Knowledge Graph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class ReportFormat(StrEnum):
    """``validate --format``: the report as text, Turtle (the SHACL report graph) or JSON."""

    TEXT = "text"
    TURTLE = "turtle"
    JSON = "json"


class QueryFormat(StrEnum):
    """``query --format``: an aligned table, or a SPARQL results format of the same name."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    TSV = "tsv"
    XML = "xml"

    @property
    def results(self) -> ResultFormat | None:
        """The results format written (None for the table)."""
        return None if self is QueryFormat.TABLE else ResultFormat[self.name]


class ExportFormat(StrEnum):
    """``export --format``: the release artefact in the RDF format of the same name."""

    TURTLE = "turtle"
    NTRIPLES = "ntriples"
    JSONLD = "jsonld"
    RDFXML = "rdfxml"
    TRIG = "trig"
    NQUADS = "nquads"

    @property
    def rdf(self) -> RdfFormat:
        """The artefact's format (``emk.<extension>``)."""
        return RdfFormat[self.name]


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each stage.")] = False,
) -> None:
    """Build, check, query and serve the EU Migration Knowledge Graph."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per store request is noise


@app.command("build")
def build_command(
    reasoner: Annotated[
        Reasoner | None, typer.Option(help="OWL RL engine (else env EMK_REASONER, else rules).")
    ] = None,
) -> None:
    """Load, check periods, validate, reason and write the release to dist/."""
    with _reporting():
        result = build(Settings.from_env(reasoner=reasoner))
    typer.echo(render_summary(result))


@app.command("validate")
def validate_command(
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.TEXT,
) -> None:
    """Validate ontology + data against shapes/ (exit 1 on violations)."""
    with _reporting():
        _, report = check(Settings.from_env())
    rendered = {
        ReportFormat.TEXT: report.render_text,
        ReportFormat.TURTLE: report.render_turtle,
        ReportFormat.JSON: report.render_json,
    }[fmt]()
    typer.echo(rendered)
    if not report.conforms:
        raise typer.Exit(1)


@app.command("query")
def query_command(
    sparql: Annotated[str | None, typer.Argument(help="A SPARQL query.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read the query from a file.")] = None,
    query_id: Annotated[str | None, typer.Option("--id", help="Run a named query.")] = None,
    fmt: Annotated[QueryFormat, typer.Option("--format", "-f")] = QueryFormat.TABLE,
) -> None:
    """Run a SPARQL query against the built release (run `migration-kg build` first)."""
    if sum(x is not None for x in (sparql, file, query_id)) != 1:
        typer.echo("error: give exactly one of SPARQL, --file or --id", err=True)
        raise typer.Exit(2)
    settings = Settings.from_env()
    with _reporting():
        text = _query_text(settings, sparql, file, query_id)
        from migration_kg.serve.engine import QueryEngine  # the endpoint's engine: loaded on demand

        result = QueryEngine.from_release(settings).query(text)
        output = _render_result(result, fmt)
    sys.stdout.buffer.write(output)
    sys.stdout.flush()


def _query_text(settings: Settings, sparql: str | None, file: Path | None, qid: str | None) -> str:
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SourceError(file, f"cannot read query: {exc.strerror}") from exc
    if qid is not None:
        return load_catalogue(settings.queries_dir)[qid].text
    assert sparql is not None
    return sparql


def _render_result(result: Any, fmt: QueryFormat) -> bytes:
    """Tables for people; the standard formats otherwise (graphs as Turtle in a table)."""
    if result.kind in ("CONSTRUCT", "DESCRIBE"):
        graph_format = RdfFormat.TURTLE if fmt is QueryFormat.TABLE else RdfFormat.NTRIPLES
        return bytes(result.serialize(graph_format))
    if fmt.results is not None:
        return bytes(result.serialize(fmt.results))
    if result.kind == "ASK":
        return b"true\n" if result.boolean else b"false\n"
    rows = [["" if v is None else str(v) for v in row] for row in result.rows]
    table = render_table(list(result.variables), rows)
    if result.truncated:
        table += "(truncated at the row cap)\n"
    return table.encode("utf-8")


def render_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain aligned text table."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in [header, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines) + f"\n({len(rows)} row{'s' if len(rows) != 1 else ''})\n"


@app.command("export")
def export_command(
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.TURTLE,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Write the release (all graphs; union for triple formats) to a file or stdout."""
    settings = Settings.from_env()
    path = settings.dist / artefact(fmt.rdf)
    with _reporting():
        if not path.is_file():
            raise SourceError(path, "no release found; run `migration-kg build` first")
        data = path.read_bytes()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)


@app.command("stats")
def stats_command() -> None:
    """Print the counts of the built release (from dist/manifest.json)."""
    settings = Settings.from_env()
    path = settings.dist / MANIFEST
    with _reporting():
        if not path.is_file():
            raise SourceError(path, "no release found; run `migration-kg build` first")
        manifest = json.loads(path.read_text(encoding="utf-8"))
    typer.echo(f"release {manifest['version']} (build {manifest['build_hash'][:12]})")
    typer.echo(render_counts("triples per graph", manifest["triples"]))
    typer.echo(render_counts("instances per class", manifest["instances"]))


@app.command("periods")
def periods_command() -> None:
    """Regenerate data/shared/periods.ttl from the period IRIs used in data/."""
    with _reporting():
        path = write_periods(Settings.from_env())
    typer.echo(f"wrote {path}")


@app.command("audit")
def audit_command(
    source: Annotated[
        Path | None,
        typer.Option(help="The report's text, as extracted [default: source in audit.toml]."),
    ] = None,
    edition: Annotated[str, typer.Option(help="Edition folder under data/.")] = "2025-03",
) -> None:
    """Check that every number, amount, percentage and date of the report is in the graph.

    Exit 0 when every value is held or waived and waivers stay under 5 %; 1 otherwise.
    """
    settings = Settings.from_env()
    with _reporting():
        check_edition_name(edition)
        sections = audit_release(settings, source, edition)
    typer.echo(render_audit(sections))
    total = sum(s.total for s in sections)
    missing = sum(len(s.missing) for s in sections)
    waived = sum(len(s.waived) for s in sections)
    if missing or (total and waived / total >= 0.05):
        raise typer.Exit(1)


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


def render_counts(title: str, counts: dict[str, int]) -> str:
    """Counts keyed by IRI, shown with prefixed names (``emk:Event``, ``graph:data``)."""
    named = {compact_iri(k, {"graph": str(GRAPH)}): v for k, v in counts.items()}
    width = max((len(k) for k in named), default=0)
    lines = [f"{title}:"] + [f"  {k.ljust(width)}  {v:>8}" for k, v in sorted(named.items())]
    return "\n".join(lines)


def render_summary(result: BuildResult) -> str:
    """The build's summary: counts, validation verdict, stage timings and where it went."""
    timings = {stage: f"{seconds:.2f}s" for stage, seconds in result.timings.items()}
    width = max(len(s) for s in timings)
    parts = [
        f"release {result.version} (build {result.build_hash[:12]})",
        render_counts("triples per graph", result.triples),
        render_counts("instances per class", result.instances),
        f"validation: {result.validation.summary}",
        "stage timings:\n" + "\n".join(f"  {s.ljust(width)}  {t:>8}" for s, t in timings.items()),
        f"wrote {len(result.paths)} files to {result.paths[0].parent if result.paths else '-'}",
    ]
    return "\n".join(parts)


register(app)  # edition new, draft, diff, release: after the commands above in --help


def main() -> None:
    """Console entry point (``migration-kg``)."""
    app()
