"""EU Migration Knowledge Graph: build, validate and publish the Migration State of Play as RDF.

Public API only; everything else is internal to its module.
"""

from __future__ import annotations

from migration_kg.build.periods import write_periods
from migration_kg.build.pipeline import BuildResult, build, check
from migration_kg.build.validation import ValidationReport
from migration_kg.core.errors import (
    BadRequest,
    ConfigError,
    MigrationKGError,
    NotAcceptable,
    QuerySyntaxError,
    QueryTimeout,
    SourceError,
    UnknownQuery,
    ValidationFailed,
)
from migration_kg.core.queries import NamedQuery, QueryCatalogue, load_catalogue
from migration_kg.core.settings import Settings

__all__ = [
    "BadRequest",
    "BuildResult",
    "ConfigError",
    "MigrationKGError",
    "NamedQuery",
    "NotAcceptable",
    "QueryCatalogue",
    "QuerySyntaxError",
    "QueryTimeout",
    "Settings",
    "SourceError",
    "UnknownQuery",
    "ValidationFailed",
    "ValidationReport",
    "build",
    "check",
    "load_catalogue",
    "write_periods",
]
