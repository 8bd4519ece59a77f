"""Loading: source files → one rdflib ``Dataset``, one named graph per file.

First step of the flow (config → **loading** → validation → reasoning → release → build). Every
later stage needs to know which file a triple came from (to name it in an error), so each file
keeps its own graph, named ``https://w3id.org/eu-migration-kg/source/<path relative to root>``.
``owl:imports`` are resolved against ontology/ only: the build never touches the network.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import OWL, RDF
from rdflib.plugins.parsers.notation3 import BadSyntax

from migration_kg.config import BASE_IRI, Settings
from migration_kg.errors import SourceError

log = logging.getLogger(__name__)

SOURCE_BASE = BASE_IRI + "source/"
PREFIXES_FILE = "prefixes.ttl"  # data/prefixes.ttl is a template to copy, not data


class SourceKind(Enum):
    """What a source file contributes; decides which release graph its triples go to."""

    ONTOLOGY = "ontology"
    DATA = "data"
    LINKS = "links"
    SHAPES = "shapes"


@dataclass(frozen=True)
class SourceFile:
    """One Turtle file of the project and the named graph it is loaded into."""

    path: Path
    relpath: str  # POSIX path relative to the project root: stable across checkouts
    kind: SourceKind

    @property
    def graph_iri(self) -> URIRef:
        return URIRef(SOURCE_BASE + self.relpath)


@dataclass(frozen=True)
class LoadedSources:
    """The parsed sources: the dataset and the file behind each of its named graphs."""

    dataset: Dataset
    files: tuple[SourceFile, ...]

    def of_kind(self, *kinds: SourceKind) -> tuple[SourceFile, ...]:
        return tuple(f for f in self.files if f.kind in kinds)

    def graph(self, source: SourceFile) -> Graph:
        return self.dataset.graph(source.graph_iri)

    def union(self, *kinds: SourceKind) -> Graph:
        """A new graph holding the triples of every file of the given kinds."""
        union = Graph(bind_namespaces="none")
        for source in self.of_kind(*kinds):
            union += self.graph(source)
        return union

    def files_describing(self, subject: object, *kinds: SourceKind) -> tuple[str, ...]:
        """Relative paths of the files (of the given kinds) in which ``subject`` is a subject."""
        return tuple(
            f.relpath
            for f in self.of_kind(*kinds)
            if (subject, None, None) in self.graph(f)  # type: ignore[operator]
        )

    def namespaces(self) -> dict[str, str]:
        """Prefix bindings declared in the sources, for readable serialisations."""
        return {prefix: str(ns) for prefix, ns in self.dataset.namespaces() if prefix}


def discover_sources(settings: Settings) -> tuple[SourceFile, ...]:
    """List the source files in a stable order: ontology, data, links, shapes; sorted by path.

    Raises:
        SourceError: if ontology/ or data/ is missing or ontology/ holds no Turtle file.
    """
    root = settings.root
    for required in (settings.ontology_dir, settings.data_dir):
        if not required.is_dir():
            raise SourceError(required, "directory not found")
    ontology = sorted(settings.ontology_dir.glob("*.ttl"))
    if not ontology:
        raise SourceError(settings.ontology_dir, "no ontology module (*.ttl) found")
    links_dir = settings.data_dir / "links"
    files: list[SourceFile] = [_source(p, root, SourceKind.ONTOLOGY) for p in ontology]
    data: list[SourceFile] = []
    links: list[SourceFile] = []
    for path in sorted(settings.data_dir.rglob("*.ttl")):
        if path.parent == settings.data_dir and path.name == PREFIXES_FILE:
            continue
        if links_dir in path.parents:  # data/links/** → the release's `links` graph
            links.append(_source(path, root, SourceKind.LINKS))
        else:
            data.append(_source(path, root, SourceKind.DATA))
    files += data + links  # links/ sorts before shared/: keep the kinds grouped
    if settings.shapes_dir.is_dir():
        shapes = sorted(settings.shapes_dir.glob("*.ttl"))
        files.extend(_source(p, root, SourceKind.SHAPES) for p in shapes)
    return tuple(files)


def _source(path: Path, root: Path, kind: SourceKind) -> SourceFile:
    return SourceFile(path=path, relpath=path.relative_to(root).as_posix(), kind=kind)


def parse_turtle(path: Path, into: Graph | None = None) -> Graph:
    """Parse one Turtle file, turning any failure into an error that names file and line.

    Raises:
        SourceError: if the file is missing, not UTF-8, or not valid Turtle.
    """
    graph = into if into is not None else Graph()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourceError(path, "file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(path, f"cannot read file: {exc}") from exc
    try:
        graph.parse(data=text, format="turtle", publicID=path.as_uri())
    except BadSyntax as exc:
        line, column = _position(exc)
        raise SourceError(path, f"Turtle syntax error: {exc._why}", line, column) from exc
    except Exception as exc:  # rdflib raises assorted types for bad IRIs, literals, etc.
        raise SourceError(path, f"cannot parse Turtle: {exc}") from exc
    return graph


def _position(exc: BadSyntax) -> tuple[int, int]:
    """1-based line and column of a ``BadSyntax`` (rdflib keeps the text and a char offset)."""
    text: str = exc._str if isinstance(exc._str, str) else exc._str.decode("utf-8", "replace")
    offset: int = exc._i
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return line, column


def load_sources(settings: Settings, files: Iterable[SourceFile] | None = None) -> LoadedSources:
    """Parse every source file into its own named graph and check ``owl:imports`` locally.

    Raises:
        SourceError: naming the file (and line) that is missing, malformed, or imports a module
            that ontology/ does not provide.
    """
    sources = tuple(files) if files is not None else discover_sources(settings)
    dataset = Dataset()
    for source in sources:
        log.debug("parsing %s", source.relpath)
        parse_turtle(source.path, into=dataset.graph(source.graph_iri))
    loaded = LoadedSources(dataset=dataset, files=sources)
    check_imports(loaded)
    return loaded


def check_imports(loaded: LoadedSources) -> None:
    """Every ``owl:imports`` in ontology/ must name an ontology that a file of ontology/ declares.

    Why: imports are resolved locally so that a build is offline and reproducible; an import
    with no local module would otherwise silently shrink the ontology.

    Raises:
        SourceError: naming the importing file and the line of the unknown import.
    """
    modules = loaded.of_kind(SourceKind.ONTOLOGY)
    declared = {
        ontology for f in modules for ontology in loaded.graph(f).subjects(RDF.type, OWL.Ontology)
    }
    for source in modules:
        for target in sorted(str(o) for o in loaded.graph(source).objects(None, OWL.imports)):
            if URIRef(target) not in declared:
                raise SourceError(
                    source.path,
                    f"owl:imports <{target}>: no file in ontology/ declares this ontology "
                    "(imports are resolved locally, never over the network)",
                    find_line(source.path, str(target)),
                )


def find_line(path: Path, needle: str) -> int | None:
    """The first line of ``path`` mentioning ``needle`` (or its last IRI segment), if any."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    tail = needle.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    for candidate in (needle, tail):
        for number, line in enumerate(lines, start=1):
            if candidate and candidate in line:
                return number
    return None
