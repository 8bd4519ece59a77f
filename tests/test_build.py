"""Build: the orchestrator's result, and the one-way flow between modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import BuiltRelease
from kg_helpers import REPO
from migration_kg.namespaces import GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY, RELEASE_GRAPHS

STAGES = ["load", "periods", "validate", "reason", "release"]
# Each module may import only modules to its left (config first, cli last).
FLOW = [
    "errors", "config", "collector", "namespaces", "formats", "loading", "periods", "validation",
    "rules", "reasoning", "rdfbytes", "release", "build", "queries", "audit",
    "query_scan", "results_io", "engine", "cli",
]  # fmt: skip


def test_build_result_reports_counts_timings_and_validation(built_release: BuiltRelease) -> None:
    result = built_release.result
    assert list(result.triples) == [str(g) for g in RELEASE_GRAPHS]
    for graph in (GRAPH_ONTOLOGY, GRAPH_DATA, GRAPH_INFERRED):
        assert result.triples[str(graph)] > 0, graph
    assert list(result.timings) == STAGES
    assert all(seconds >= 0 for seconds in result.timings.values())
    assert result.instances["https://w3id.org/eu-migration-kg/ontology#Period"] > 0
    assert result.validation.conforms
    assert result.reasoning.total == result.triples[str(GRAPH_INFERRED)]
    assert len(result.build_hash) == 64


def test_metadata_describes_the_release(built_release: BuiltRelease) -> None:
    metadata = built_release.result.content.graphs[RELEASE_GRAPHS[-1]]
    text = metadata.serialize(format="nt")
    assert built_release.result.version in text
    assert "sha256:" + built_release.result.build_hash in text
    assert "source/data/2025-03/00-report.ttl" in text


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("migration_kg")
        ):
            found.add(node.module.split(".")[1] if "." in node.module else "")
    return found - {""}


@pytest.mark.parametrize("module", FLOW)
def test_no_lower_module_imports_a_higher_one(module: str) -> None:
    path = REPO / "src" / "migration_kg" / f"{module}.py"
    allowed = set(FLOW[: FLOW.index(module)])
    higher = {m for m in _imports(path) if m in FLOW and m not in allowed}
    assert not higher, f"{module}.py imports {sorted(higher)}, which come later in the flow"
