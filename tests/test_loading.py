"""Loading: a named graph per file, errors that point at file and line, local imports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kg_helpers import REPO
from migration_kg.build.loading import SOURCE_BASE, SourceKind, discover_sources, load_sources
from migration_kg.core.errors import SourceError
from migration_kg.core.settings import Settings


def test_every_source_file_is_its_own_named_graph() -> None:
    settings = Settings(root=REPO)
    loaded = load_sources(settings)
    relpaths = [f.relpath for f in loaded.files]
    assert "ontology/emk.ttl" in relpaths
    assert "data/prefixes.ttl" not in relpaths
    assert not any(p.endswith(".md") for p in relpaths)
    for source in loaded.files:
        assert str(source.graph_iri) == SOURCE_BASE + source.relpath
        assert len(loaded.graph(source)) > 0, source.relpath
    ontology = loaded.of_kind(SourceKind.ONTOLOGY)
    assert len(ontology) == len(list((REPO / "ontology").glob("*.ttl")))


def test_discovery_order_is_stable_and_sorted_within_kind() -> None:
    first = discover_sources(Settings(root=REPO))
    assert first == discover_sources(Settings(root=REPO))
    kinds = [f.kind for f in first]
    order = [SourceKind.ONTOLOGY, SourceKind.DATA, SourceKind.LINKS, SourceKind.SHAPES]
    assert kinds == sorted(kinds, key=order.index)


def _write(settings: Settings, text: str) -> Path:
    path = settings.data_dir / "2025-03" / "01-tiny.ttl"
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_turtle_names_file_line_and_column(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    path = _write(settings, '@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b "x\n')
    with pytest.raises(SourceError) as caught:
        load_sources(settings)
    error = caught.value
    assert error.path == path
    assert error.line == 3
    assert error.column is not None
    assert str(error).startswith(f"{path}:3:")


def test_unknown_prefix_names_file_and_line(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    path = _write(settings, "@prefix ex: <http://example.org/> .\n\nex:a nope:b ex:c .\n")
    with pytest.raises(SourceError, match="nope") as caught:
        load_sources(settings)
    assert (caught.value.path, caught.value.line) == (path, 3)


def test_missing_directory_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="directory not found") as caught:
        load_sources(Settings(root=tmp_path))
    assert caught.value.path == tmp_path / "ontology"


def test_import_without_local_module_is_an_error(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    top = settings.ontology_dir / "emk.ttl"
    text = top.read_text(encoding="utf-8").replace(
        "owl:imports <https://w3id.org/eu-migration-kg/ontology/time> ;",
        "owl:imports <https://w3id.org/eu-migration-kg/ontology/nowhere> ;",
    )
    top.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match="ontology/nowhere") as caught:
        load_sources(settings)
    assert caught.value.path == top
    assert caught.value.line is not None
    assert "nowhere" in text.splitlines()[caught.value.line - 1]


def test_a_missing_imported_module_file_is_an_error(tiny_project: Callable[..., Settings]) -> None:
    settings = tiny_project()
    (settings.ontology_dir / "time.ttl").unlink()
    with pytest.raises(SourceError, match="ontology/time"):
        load_sources(settings)
