"""Build: the orchestrator's result, and the one-way flow between modules."""

from __future__ import annotations

import tomllib

from kg_helpers import REPO, BuiltRelease
from migration_kg.core.namespaces import GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY, RELEASE_GRAPHS

STAGES = ["load", "periods", "validate", "reason", "release"]


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


def test_every_package_has_a_place_in_the_layers_contract() -> None:
    """lint-imports (run by scripts/test) checks the flow; a package left out is unchecked."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layered = {name.strip() for layer in contracts[0]["layers"] for name in layer.split("|")}
    package = REPO / "src" / "migration_kg"
    modules = {
        f"migration_kg.{p.stem if p.is_file() else p.name}"
        for p in package.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert modules, "no modules found under src/migration_kg"
    assert modules <= layered, f"not in the layers contract: {sorted(modules - layered)}"


def test_no_module_is_over_500_lines() -> None:
    """No god modules (STYLE.md: modules < ~400 lines, 500 at most)."""
    package = REPO / "src" / "migration_kg"
    modules = sorted(package.rglob("*.py"))
    assert len(modules) > 50, "the package's modules were not found"
    sizes = {str(p.relative_to(package)): len(p.read_text(encoding="utf-8").splitlines())
             for p in modules}  # fmt: skip
    too_long = {name: n for name, n in sizes.items() if n > 500}
    assert too_long == {}


def test_every_build_stage_and_sub_package_module_is_in_its_contract() -> None:
    """Each module of build/, and of its sub-packages with a layers contract, is in it."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    layered = {
        name.strip()
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["type"] == "layers"
        for layer in contract["layers"]
        for name in layer.split("|")
    }
    build = REPO / "src" / "migration_kg" / "build"
    packages = [build, *(p for p in build.iterdir() if (p / "__init__.py").is_file())]
    missing = []
    for package in packages:
        dotted = "migration_kg." + ".".join(package.relative_to(build.parent).parts)
        for p in package.iterdir():
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file():
                name = f"{dotted}.{p.stem}"
                if name not in layered:
                    missing.append(name)
    assert packages[1:], "build/ has no sub-packages"
    assert missing == []
