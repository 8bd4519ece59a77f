"""The benchmarks' synthetic editions (bench/synthetic.py) must be as valid as the real one.

A copy that fails the shapes makes every benchmark at 100k and 1M fail at its build, which the
smoke run (real size only) would not notice: this builds the smallest tree, one copy, as a
benchmark user would, and validates it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from migration_kg.build.loading import load_sources
from migration_kg.build.validation import Severity, validate_sources
from migration_kg.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_one_synthetic_copy_conforms_and_mints_its_own_resources(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    generator = [sys.executable, str(ROOT / "bench" / "synthetic.py")]
    done = subprocess.run(
        [*generator, "--triples", "20000", "--out", str(tree)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["copies"] == 1

    copy = Graph().parse(tree / "data" / "synthetic" / "s0001.ttl", format="turtle")
    real = Graph()
    for path in sorted((ROOT / "data" / "2025-03").glob("*.ttl")):
        real.parse(path, format="turtle")

    def typed(graph: Graph) -> set[URIRef]:
        return {s for s in graph.subjects(RDF.type, None) if isinstance(s, URIRef)}

    # Every resource the real edition types is minted afresh, but for the periods and concepts
    # it names (shared by every edition); shared organisations etc. are typed in shared/.
    kept = typed(copy) & typed(real)
    assert typed(copy) - kept and all("/id/period/" in s or "/id/concept/" in s for s in kept), kept

    report = validate_sources(load_sources(Settings(root=tree)))
    violations = [r.as_dict() for r in report.results if r.severity is Severity.VIOLATION]
    assert report.conforms, violations[:5]
