"""The ``migration-kg`` Typer application and its global ``--verbose`` option.

A leaf module: every command module adds its commands to ``app``; ``cli/__init__`` imports them
in the order ``--help`` lists them.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

app = typer.Typer(
    help="Build, check, query and serve the EU Migration Knowledge Graph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
