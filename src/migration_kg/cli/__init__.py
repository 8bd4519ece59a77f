"""Command line: ``migration-kg build | validate | query | export | stats | periods | audit``
(``release``), ``serve | publish`` (``serving``), ``edition new | draft | diff | release``
(``editions``).

Top of the flow: each command is a few lines over the package API; ``reporting`` turns errors
into the documented exit codes. Importing the modules adds their commands to ``app``.
"""

from __future__ import annotations

# The order of these imports is the order of the commands in --help.
from migration_kg.cli import release, serving  # isort: split

from migration_kg.cli import editions
from migration_kg.cli.app import app

__all__ = ["app", "editions", "main", "release", "serving"]


def main() -> None:
    """Console entry point (``migration-kg``)."""
    app()
