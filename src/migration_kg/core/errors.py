"""Errors that reach users: each names the file, line, column or parameter at fault.

The CLI maps them to exit codes (0 ok, 1 shapes violated, 2 bad input or usage); the web app
maps them to HTTP statuses in one place (``web/errors.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class MigrationKGError(Exception):
    """Base class of every error the package raises on purpose."""

    exit_code = 2


class ConfigError(MigrationKGError):
    """A setting or environment variable has an unusable value."""


class UnsupportedLibrary(MigrationKGError):
    """An installed library's version is not one the project's patches to it were checked with."""


class ReasoningError(MigrationKGError):
    """The ontology uses a construct the rules reasoner does not implement (named in it)."""


class SourceError(MigrationKGError):
    """A source file (ontology, data, shapes, query) is missing or cannot be parsed."""

    def __init__(
        self, path: Path | str, message: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class ValidationFailed(MigrationKGError):
    """The data violates SHACL shapes (warnings alone never raise this)."""

    exit_code = 1

    def __init__(self, report: Any) -> None:
        self.report = report
        super().__init__(f"SHACL validation failed: {getattr(report, 'summary', report)}")


class QuerySyntaxError(MigrationKGError):
    """A SPARQL query does not parse; carries line and column when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        super().__init__(message)


class QueryTimeout(MigrationKGError):
    """A query ran longer than the configured timeout."""


class UnknownQuery(MigrationKGError):
    """No named query has the requested id."""


class NotAcceptable(MigrationKGError):
    """No offered format satisfies the request's Accept header or format parameter."""

    def __init__(self, message: str, offered: tuple[str, ...] = ()) -> None:
        self.offered = offered
        super().__init__(message)


class BadRequest(MigrationKGError):
    """A request parameter is missing, repeated, malformed or not allowed."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        self.parameter = parameter
        super().__init__(message)
