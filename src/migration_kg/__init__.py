"""EU Migration Knowledge Graph: build, validate and publish the Migration State of Play as RDF.

Public API only; everything else is internal to its module.
"""

from __future__ import annotations

from migration_kg.build import BuildResult, build, check
from migration_kg.config import Settings
from migration_kg.errors import (
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
from migration_kg.periods import write_periods
from migration_kg.queries import NamedQuery, QueryCatalogue, load_catalogue
from migration_kg.validation import ValidationReport

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
