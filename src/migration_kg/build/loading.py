"""Loading: source files → one rdflib graph per file, named after the file.

First step of the flow (config → **loading** → validation → reasoning → release → build). Every
later stage needs to know which file a triple came from (to name it in an error), so each file
keeps its own graph, named ``https://w3id.org/eu-migration-kg/source/<path relative to root>``.
``owl:imports`` are resolved against ontology/ only: the build never touches the network.

Files are parsed by pyoxigraph's Turtle parser and its terms turned into rdflib terms (the
stages after this one, pySHACL and owlrl, speak rdflib): twice as fast as rdflib's own parser,
which dominated a 1M-triple build, with the same terms (simple literals untyped, language
tags kept, blank nodes fresh per file as rdflib makes them) and errors with line and column —
except that a typed literal keeps its text as written (rdflib would turn ``"+5"^^xsd:integer``
into ``"5"``): the graph states what the source file states.
Each file's graph is a plain ``Graph``, not a context of a ``Dataset``: a store that tracks
contexts per triple made every later lookup and union several times slower.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, XSD
from rdflib.term import Identifier

from migration_kg.core.errors import SourceError
from migration_kg.core.formats import RdfFormat
from migration_kg.core.names import SOURCE_BASE
from migration_kg.core.namespaces import PREFIXES
from migration_kg.core.settings import Settings

log = logging.getLogger(__name__)

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
    """The parsed sources: one graph per file, and the prefixes the files declare."""

    graphs: Mapping[SourceFile, Graph]
    prefixes: Mapping[str, str]

    @property
    def files(self) -> tuple[SourceFile, ...]:
        return tuple(self.graphs)

    def of_kind(self, *kinds: SourceKind) -> tuple[SourceFile, ...]:
        return tuple(f for f in self.graphs if f.kind in kinds)

    def graph(self, source: SourceFile) -> Graph:
        return self.graphs[source]

    def union(self, *kinds: SourceKind) -> Graph:
        """A new graph holding the triples of every file of the given kinds."""
        union = Graph(bind_namespaces="none")
        for source in self.of_kind(*kinds):
            union.addN((s, p, o, union) for s, p, o in self.graphs[source])
        return union

    def files_describing(self, subject: object, *kinds: SourceKind) -> tuple[str, ...]:
        """Relative paths of the files (of the given kinds) in which ``subject`` is a subject."""
        return tuple(
            f.relpath
            for f in self.of_kind(*kinds)
            if (subject, None, None) in self.graph(f)  # type: ignore[operator]
        )

    def namespaces(self) -> dict[str, str]:
        """The project's prefixes plus those the sources declare, for readable serialisations."""
        return dict(self.prefixes)


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
    graph.addN((s, p, o, graph) for s, p, o in _read_turtle(path, {}, {}))
    return graph


def _read_turtle(
    path: Path, prefixes: dict[str, str], terms: dict[object, Identifier]
) -> list[tuple[Identifier, Identifier, Identifier]]:
    """The triples of one file as rdflib terms; the file's prefixes are added to ``prefixes``.

    ``terms`` caches converted IRIs and literals across the files of one load: they recur
    thousands of times, and converting each once is a third of the parse time.

    Raises:
        SourceError: if the file is missing, not UTF-8, or not valid Turtle.
    """
    try:
        data = path.read_bytes()
        data.decode("utf-8")
    except FileNotFoundError as exc:
        raise SourceError(path, "file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(path, f"cannot read file: {exc}") from exc
    blank: dict[str, BNode] = {}  # fresh per file, as rdflib's parser makes them
    try:
        parser = ox.parse(data, format=RdfFormat.TURTLE.oxigraph, base_iri=path.as_uri())
        triples = [
            (
                _term(q.subject, blank, terms),
                _term(q.predicate, blank, terms),
                _term(q.object, blank, terms),
            )
            for q in parser
        ]
    except SyntaxError as exc:
        message = str(exc.msg or exc).split(": ", 1)[-1]
        raise SourceError(path, f"Turtle syntax error: {message}", exc.lineno, exc.offset) from exc
    prefixes.update(parser.prefixes)
    return triples


_STRING = str(XSD.string)


def _term(term: object, blank: dict[str, BNode], terms: dict[object, Identifier]) -> Identifier:
    """The rdflib term for a pyoxigraph term (rdflib's own parser would make the same one)."""
    if isinstance(term, ox.BlankNode):
        node = blank.get(term.value)
        if node is None:
            node = blank[term.value] = BNode()
        return node
    known = terms.get(term)
    if known is not None:
        return known
    converted: Identifier
    if isinstance(term, ox.NamedNode):
        converted = URIRef(term.value)
    elif isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if term.language:
            converted = Literal(term.value, lang=term.language)
        else:
            typed = None if datatype == _STRING else URIRef(datatype)
            converted = Literal(term.value, datatype=typed, normalize=False)
    else:  # RDF 1.2 triple terms: no source file uses them
        raise TypeError(f"unsupported term {term!r}")
    terms[term] = converted
    return converted


def load_sources(settings: Settings, files: Iterable[SourceFile] | None = None) -> LoadedSources:
    """Parse every source file into its own named graph and check ``owl:imports`` locally.

    Raises:
        SourceError: naming the file (and line) that is missing, malformed, or imports a module
            that ontology/ does not provide.
    """
    sources = tuple(files) if files is not None else discover_sources(settings)
    graphs: dict[SourceFile, Graph] = {}
    prefixes: dict[str, str] = {}
    terms: dict[object, Identifier] = {}
    for source in sources:
        log.debug("parsing %s", source.relpath)
        graph = graphs[source] = Graph(bind_namespaces="none", identifier=source.graph_iri)
        graph.addN((s, p, o, graph) for s, p, o in _read_turtle(source.path, prefixes, terms))
    known = {name: str(ns) for name, ns in PREFIXES.items()}
    declared = {k: v for k, v in prefixes.items() if k and k not in known}
    loaded = LoadedSources(graphs=graphs, prefixes=dict(sorted({**known, **declared}.items())))
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
