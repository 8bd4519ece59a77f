"""Benchmark harness: emk vs Oxigraph (in memory, on disk) vs rdflib-endpoint, same data.

Run it through ``scripts/bench`` (which installs wrk and the peers in .venv-bench first):

    scripts/bench                       # real, 100k and 1m; 10 s per point; c=1 and 16
    scripts/bench --sizes real,100k --duration 20
    scripts/bench --smoke               # seconds: real size, 1 s points (what CI runs)

Writes results.json, results.md and results.png to bench/results/ (``--out``) and prints the
ratio table. Only 127.0.0.1 is ever contacted; every server started is stopped on exit.
"""

from __future__ import annotations

import sys

from emkbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
