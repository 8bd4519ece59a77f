"""Edition commands: ``edition new``, ``draft``, ``diff``, ``release`` (registered by ``cli``).

A module of its own so that ``cli.py`` stays short; it also holds :func:`reporting`, the one
place every command turns package errors into a message and an exit code (0 ok, 1 shapes
violated, 2 bad input or usage), because ``cli`` imports this module and not the reverse.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from migration_kg.core.errors import (
    MigrationKGError,
    QuerySyntaxError,
    SourceError,
    ValidationFailed,
)
from migration_kg.core.settings import Settings
from migration_kg.editions.diff import diff_releases
from migration_kg.editions.diff_render import render_json, render_text, render_turtle
from migration_kg.editions.draft import check_output, draft_edition, read_inputs, render_worksheet
from migration_kg.editions.draft_measure import measure_draft, render_measure
from migration_kg.editions.releases import ReleaseDir, publish
from migration_kg.editions.scaffold import scaffold_edition

edition_app = typer.Typer(help="Start a new report edition.", no_args_is_help=True)


class DiffFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"
    TURTLE = "turtle"


@contextmanager
def reporting() -> Iterator[None]:
    """Turn package errors into a message on stderr and the documented exit code."""
    try:
        yield
    except ValidationFailed as exc:
        typer.echo(exc.report.render_text(), err=True)
        raise typer.Exit(exc.exit_code) from exc
    except QuerySyntaxError as exc:
        where = ":".join(str(n) for n in ("query", exc.line, exc.column) if n is not None)
        typer.echo(f"{where}: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from exc
    except MigrationKGError as exc:
        typer.echo(str(exc) if isinstance(exc, SourceError) else f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from exc


@edition_app.command("new")
def edition_new_command(
    edition: Annotated[str, typer.Argument(help="The edition, YYYY-MM.")],
    source: Annotated[Path, typer.Option(help="The report's text, as extracted from the PDF.")],
    outline: Annotated[
        Path | None, typer.Option(help="NUMBER TITLE [{slug}] [@LINE] per heading, if unnumbered.")
    ] = None,
) -> None:
    """Scaffold data/<edition>/: edition, sections, one file per key objective, audit.toml."""
    with reporting():
        scaffold = scaffold_edition(Settings.from_env(), edition, source, outline)
    top = len(scaffold.outline.top_level)
    typer.echo(f"wrote {scaffold.folder}: {len(scaffold.outline)} sections, {top} key objectives")


def draft_command(
    edition: Annotated[str, typer.Option(help="The edition, YYYY-MM (a folder of data/).")],
    source: Annotated[Path | None, typer.Option(help="The text [default: audit.toml's].")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="TSV file.")] = None,
    measure: Annotated[
        bool, typer.Option(help="Compare with the edition's hand-encoded facts instead.")
    ] = False,
) -> None:
    """Candidate facts of an edition as a TSV worksheet (never into data/); --measure: how good."""
    settings = Settings.from_env()
    with reporting():
        if output is not None:
            check_output(settings, output)
        inputs = read_inputs(settings, edition, source)
        draft = draft_edition(inputs)
    if measure:
        typer.echo(render_measure(measure_draft(draft, inputs.graph)), nl=False)
    elif output is None:
        typer.echo(render_worksheet(draft), nl=False)
    else:
        output.write_text(render_worksheet(draft), encoding="utf-8")
        typer.echo(f"wrote {len(draft.candidates)} candidates to {output}", err=True)


def diff_command(
    old: Annotated[Path, typer.Argument(help="The older built release directory.")],
    new: Annotated[Path, typer.Argument(help="The newer built release directory.")],
    fmt: Annotated[DiffFormat, typer.Option("--format", "-f")] = DiffFormat.TEXT,
) -> None:
    """What changed between two built releases: content by kind, derived graphs apart."""
    with reporting():
        older, newer = ReleaseDir.open(old), ReleaseDir.open(new)
        diff = diff_releases(older, newer)
    prefixes = newer.prefixes()
    if fmt is DiffFormat.TURTLE:
        sys.stdout.buffer.write(render_turtle(diff, prefixes))
        sys.stdout.flush()
    elif fmt is DiffFormat.JSON:
        typer.echo(render_json(diff), nl=False)
    else:
        typer.echo(render_text(diff, prefixes, markdown=fmt is DiffFormat.MARKDOWN), nl=False)


def release_command() -> None:
    """Publish the built release (dist/) into the archive (EMK_RELEASES_DIR, default releases/)."""
    settings = Settings.from_env()
    with reporting():
        release, new = publish(settings.dist, settings.releases)
    done = "published" if new else "already published (same build)"
    typer.echo(f"{done}: {release.version} in {release.path}")


def register(app: typer.Typer) -> None:
    """Add the edition commands to the command line."""
    app.add_typer(edition_app, name="edition")
    app.command("draft")(draft_command)
    app.command("diff")(diff_command)
    app.command("release")(release_command)
