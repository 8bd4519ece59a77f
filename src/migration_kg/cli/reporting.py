"""One place where every command turns package errors into a message and an exit code.

Errors are printed as ``path:line:col: message`` on stderr; exit codes are 0 ok, 1 shapes
violated, 2 bad input or usage (as pySHACL does, and as the README documents).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from migration_kg.core.errors import (
    MigrationKGError,
    QuerySyntaxError,
    SourceError,
    ValidationFailed,
)


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
