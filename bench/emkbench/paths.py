"""Where things are: the checkout, the two virtual environments, the build cache."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"
PROJECT_CLI = ROOT / ".venv" / "bin" / "migration-kg"
# The harness itself runs in .venv-bench (scripts/bench); the peers' executables live beside it.
BENCH_BIN = Path(sys.executable).parent
DEFAULT_CACHE = ROOT / "build" / "bench"
DEFAULT_OUT = BENCH / "results"
QUERIES_FILE = BENCH / "queries.toml"

_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([km]?)$")


def parse_size(label: str) -> int | None:
    """Target release quads for a size label: ``real`` → None, ``100k`` → 100 000, ``1m`` → 10⁶.

    Raises:
        ValueError: the label is neither ``real`` nor a number with an optional k/m suffix.
    """
    text = label.strip().lower()
    if text == "real":
        return None
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"size {label!r}: expected 'real' or a count such as 20k, 100k, 1m")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2)]
    return int(float(match.group(1)) * factor)
