"""Command line: ``migration-kg build | validate | query | export | stats | audit | serve``, and
``edition new | draft | diff | release`` (in ``cli_editions``).

Top of the flow: each command is a few lines over the package API. Errors are printed as
``path:line:col: message`` on stderr; exit codes are 0 ok, 1 shapes violated, 2 bad input or
usage (as pySHACL does, and as the README documents).
"""

from __future__ import annotations

import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from migration_kg.build.periods import write_periods
from migration_kg.build.pipeline import BuildResult, build, check
from migration_kg.cli_editions import register
from migration_kg.cli_editions import reporting as _reporting
from migration_kg.core.errors import SourceError
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


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    timeout: Annotated[
        float | None, typer.Option(help="Query timeout in seconds [env EMK_QUERY_TIMEOUT_S].")
    ] = None,
    row_cap: Annotated[
        int | None, typer.Option(help="Most result rows returned [env EMK_RESULT_ROW_CAP].")
    ] = None,
    max_request_bytes: Annotated[
        int | None, typer.Option(help="Largest request body [env EMK_MAX_REQUEST_BYTES].")
    ] = None,
    public_base_url: Annotated[
        str | None,
        typer.Option(help="Where the namespace is served, if not here [env EMK_PUBLIC_BASE_URL]."),
    ] = None,
    allow_service: Annotated[
        list[str] | None,
        typer.Option(help="Endpoint SERVICE may call (repeatable; none by default)."),
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
) -> None:
    """Serve the built release over HTTP: the SPARQL endpoint and its service description.

    The release is loaded once, then ``--workers`` processes share it copy-on-write.
    """
    settings = Settings.from_env(
        host=host,
        port=port,
        query_timeout_s=timeout,
        result_row_cap=row_cap,
        max_request_bytes=max_request_bytes,
        public_base_url=public_base_url,
        service_allowlist=tuple(allow_service) if allow_service else None,
    )
    _enable_access_log()
    with _reporting():
        from fastapi import FastAPI

        from migration_kg.serve.engine import QueryEngine
        from migration_kg.web import server
        from migration_kg.web.app import create_app
        from migration_kg.web.cache import ResultCache

        stats = server.WorkerStats()

        def build_app() -> FastAPI:
            engine = QueryEngine.from_release(settings)
            result_cache = ResultCache(engine.build_hash, cache_mb * 2**20) if cache else None
            app = create_app(settings, engine, result_cache=result_cache)
            app.state.worker_stats = stats  # /health reports the supervisor's restarts
            return app

        processes = workers or server.default_workers()
        sockets = server.listen(settings.host, settings.port, processes)  # fail before loading
        # The app writes one JSON line per request itself: uvicorn's access log stays off.
        server.run(
            build_app, sockets, processes, stats, access_log=False, timeout_graceful_shutdown=5
        )


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
