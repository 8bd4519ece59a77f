"""Run one ``migration-kg`` build and print its timings as JSON (run by the project's venv).

A separate process so the harness can read this build's own peak RSS (``os.wait4``) and so the
project's dependencies never have to be importable from the bench venv.

    .venv/bin/python bench/emkbench/build_child.py ROOT DIST
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(root: str, dist: str) -> None:
    """Build ``root`` into ``dist``; the last stdout line is the JSON summary."""
    from migration_kg.build.pipeline import build
    from migration_kg.core.settings import Settings

    started = time.perf_counter()
    # from_env: EMK_* variables (EMK_REASONER…) apply to benchmark builds as to real ones.
    result = build(Settings.from_env(root=Path(root), dist_dir=Path(dist)))
    summary = {
        "timings": dict(result.timings),
        "triples": dict(result.triples),
        "quads": sum(result.triples.values()),
        "build_hash": result.build_hash,
        "wall_s": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
