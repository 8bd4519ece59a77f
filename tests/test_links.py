"""Offline verification of the outbound links in data/links/ (issue 9).

Why offline: a link that points at a retired authority code, a misspelled EuroVoc id or the wrong
act is worse than no link, and CI has no internet. Authority-table and EuroVoc links are checked
against the snapshots in ``../shared/vocab/`` (the code exists, is not deprecated, and for
``skos:exactMatch`` its English label is one of our names unless the curated table documents the
difference); ELI, CELEX and Wikidata identifiers, which have no snapshot, must each be an entry of
the curated table ``data/links/curated-identifiers.csv`` (with its reason) and follow their syntax.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from functools import cache

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from conftest import BuiltRelease
from kg_helpers import REPO
from migration_kg.core.namespaces import GRAPH_DATA, GRAPH_LINKS

LINKS_DIR = REPO / "data" / "links"
CURATED = LINKS_DIR / "curated-identifiers.csv"
VOCAB = REPO.parent / "shared" / "vocab"
AT = Namespace("http://publications.europa.eu/ontology/authority/")
EUVOC = Namespace("http://publications.europa.eu/ontology/euvoc#")
AUTHORITY = "http://publications.europa.eu/resource/authority/"
MATCHES = (SKOS.exactMatch, SKOS.closeMatch)
STATUSES = {"linked", "label-differs", "unverified", "left-out"}
PATTERNS = {
    "eli": re.compile(r"^http://data\.europa\.eu/eli/(reg|dir|dec)/[0-9]{4}/[1-9][0-9]*/oj$"),
    "celex": re.compile(r"^3[0-9]{4}[RLD][0-9]{4}$"),
    "wikidata": re.compile(r"^http://www\.wikidata\.org/entity/Q[1-9][0-9]*$"),
    "eurovoc": re.compile(r"^http://eurovoc\.europa\.eu/(c_[0-9a-f]{8}|[1-9][0-9]*)$"),
}
# Which scheme each link file may target: one file per scheme keeps review and counts simple.
FILE_SCHEMES = {
    "countries.ttl": {"country"},
    "corporate-bodies.ttl": {"corporate-body"},
    "currency.ttl": {"currency"},
    "eu-programmes.ttl": {"eu-programme"},
    "legal-acts.ttl": {"eli", "celex"},
    "eurovoc.ttl": {"eurovoc"},
    "wikidata.ttl": {"wikidata"},
}

needs_vocab = pytest.mark.usefixtures("shared_vocab")  # fails, never skips, without them


def scheme(target: object) -> str:
    """The target scheme of a link object: an authority table's name, eli, eurovoc or wikidata."""
    text = str(target)
    if isinstance(target, Literal):
        return "celex"
    if text.startswith(AUTHORITY):
        return text[len(AUTHORITY) :].split("/", 1)[0]
    if text.startswith("http://data.europa.eu/eli/"):
        return "eli"
    if text.startswith("http://eurovoc.europa.eu/"):
        return "eurovoc"
    if text.startswith("http://www.wikidata.org/entity/"):
        return "wikidata"
    return "unknown"


@cache
def link_graphs() -> dict[str, Graph]:
    return {p.name: Graph().parse(p) for p in sorted(LINKS_DIR.glob("*.ttl"))}


@cache
def links() -> Graph:
    union = Graph()
    for graph in link_graphs().values():
        union += graph
    return union


@cache
def data() -> Graph:
    graph = Graph()
    for path in sorted((REPO / "data").rglob("*.ttl")):
        if LINKS_DIR not in path.parents and path.name != "prefixes.ttl":
            graph.parse(path)
    return graph


def link_triples() -> list[tuple[Node, URIRef, Node]]:
    """Every outbound link: exact/close matches and the CELEX numbers of instruments."""
    graph = links()
    found = [(s, p, o) for p in (*MATCHES, DCTERMS.identifier) for s, o in graph.subject_objects(p)]
    return sorted(found, key=lambda t: (str(t[0]), str(t[1]), str(t[2])))


@cache
def curated() -> list[dict[str, str]]:
    prefixes = Graph().parse(REPO / "data" / "prefixes.ttl")
    rows = list(csv.DictReader(CURATED.read_text(encoding="utf-8").splitlines()))
    for row in rows:
        row["iri"] = str(prefixes.namespace_manager.expand_curie(row["resource"]))
    return rows


@cache
def vocabulary(table: str) -> Graph:
    name = "eurovoc-subset" if table == "eurovoc" else table
    path = VOCAB / f"{name}.ttl"
    assert path.is_file(), f"no offline snapshot for the {table} scheme ({path})"
    return Graph().parse(path)


def names(graph: Graph, node: Node, *props: URIRef) -> set[str]:
    """English labels of ``node`` under ``props``, case-folded, typographic apostrophes kept."""
    return {
        str(o).casefold()
        for p in props
        for o in graph.objects(node, p)
        if isinstance(o, Literal) and o.language == "en"
    }


def test_links_use_no_owl_same_as() -> None:
    """owl:sameAs would make OWL RL copy the other dataset's facts onto ours (data/README.md)."""
    assert not list(links().triples((None, OWL.sameAs, None)))
    assert not list(data().triples((None, OWL.sameAs, None)))


def test_each_file_targets_its_own_scheme() -> None:
    assert set(link_graphs()) == set(FILE_SCHEMES)
    for name, graph in link_graphs().items():
        used = {scheme(o) for p in (*MATCHES, DCTERMS.identifier) for o in graph.objects(None, p)}
        assert used <= FILE_SCHEMES[name], f"{name} links to {used - FILE_SCHEMES[name]}"


def test_links_are_about_described_resources() -> None:
    described = set(data().subjects(RDF.type, None))
    strays = {str(s) for s, _, _ in link_triples() if s not in described}
    assert strays == set()


@needs_vocab
@pytest.mark.parametrize("table", ["country", "corporate-body", "currency", "eu-programme"])
def test_authority_links_exist_are_current_and_named_alike(table: str) -> None:
    vocab = vocabulary(table)
    documented = {(r["iri"], r["target"]) for r in curated() if r["status"] == "label-differs"}
    problems = []
    for subject, prop, target in link_triples():
        if scheme(target) != table:
            continue
        if (target, RDF.type, SKOS.Concept) not in vocab:
            problems.append(f"{subject} → {target}: not in the {table} table")
            continue
        if str(vocab.value(target, AT["deprecated"])) == "true":
            problems.append(f"{subject} → {target}: deprecated")
        ours = names(data(), subject, RDFS.label, SKOS.altLabel, SKOS.prefLabel)
        theirs = names(vocab, target, SKOS.prefLabel, SKOS.altLabel)
        exact = prop == SKOS.exactMatch
        if exact and not ours & theirs and (str(subject), str(target)) not in documented:
            problems.append(f"{subject} → {target}: labels differ {ours} / {theirs}")
    assert problems == []


@needs_vocab
def test_eurovoc_links_exist_and_exact_ones_are_named_alike() -> None:
    vocab = vocabulary("eurovoc")
    problems = []
    for subject, prop, target in link_triples():
        if scheme(target) != "eurovoc":
            continue
        assert PATTERNS["eurovoc"].match(str(target)), target
        if not list(vocab.triples((target, SKOS.prefLabel, None))):
            problems.append(f"{subject} → {target}: not in the EuroVoc snapshot")
        ours = names(data(), subject, RDFS.label, SKOS.altLabel, SKOS.prefLabel)
        theirs = names(vocab, target, SKOS.prefLabel, SKOS.altLabel)
        if prop == SKOS.exactMatch and not ours & theirs:
            problems.append(f"{subject} → {target}: labels differ {ours} / {theirs}")
    assert problems == []


@needs_vocab
def test_country_notation_is_the_tables_alpha3_code() -> None:
    vocab = vocabulary("country")
    for subject, notation in links().subject_objects(SKOS.notation):
        assert isinstance(notation, Literal)
        assert notation.datatype == EUVOC.ISO_3166_1_ALPHA_3, subject
        targets = [t for t in links().objects(subject, SKOS.exactMatch) if scheme(t) == "country"]
        assert len(targets) == 1, subject
        assert notation in set(vocab.objects(targets[0], SKOS.notation)), subject


def test_identifier_links_match_the_curated_table() -> None:
    """ELI, CELEX and Wikidata have no offline snapshot: each link is a reviewed table entry."""
    linked = {
        (r["iri"], r["scheme"], r["target"])
        for r in curated()
        if r["status"] == "linked" and r["scheme"] in {"eli", "celex", "wikidata"}
    }
    found = {
        (str(s), scheme(o), str(o))
        for s, _, o in link_triples()
        if scheme(o) in {"eli", "celex", "wikidata"}
    }
    assert found - linked == set(), "links missing from curated-identifiers.csv"
    assert linked - found == set(), "curated entries missing from data/links/"
    for _, kind, target in found:
        assert PATTERNS[kind].match(target), f"{target} is not a well-formed {kind} identifier"


def test_eli_and_celex_agree() -> None:
    """The CELEX number and the ELI of one act name the same year, type and number."""
    types = {"reg": "R", "dir": "L", "dec": "D"}
    for subject, eli in links().subject_objects(SKOS.exactMatch):
        if scheme(eli) != "eli":
            continue
        kind, year, number = str(eli).split("/")[4:7]
        celex = {str(o) for o in links().objects(subject, DCTERMS.identifier)}
        assert celex == {f"3{year}{types[kind]}{int(number):04d}"}, subject


def test_curated_table_is_well_formed() -> None:
    described = set(data().subjects(RDF.type, None))
    for row in curated():
        where = f"{row['resource']} ({row['scheme']})"
        assert row["status"] in STATUSES, where
        assert row["reason"].strip(), f"{where}: no reason"
        assert URIRef(row["iri"]) in described, f"{where}: not a resource of data/"
        if row["status"] in {"linked", "label-differs"}:
            assert row["target"], where
            target: Node = (
                Literal(row["target"]) if row["scheme"] == "celex" else URIRef(row["target"])
            )
            assert any(
                (URIRef(row["iri"]), p, target) in links() for p in (*MATCHES, DCTERMS.identifier)
            ), where


def test_release_keeps_links_in_their_own_graph(built_release: BuiltRelease) -> None:
    graphs = built_release.result.content.graphs
    assert len(graphs[GRAPH_LINKS]) == len(links())
    assert not list(graphs[GRAPH_DATA].triples((None, SKOS.exactMatch, None)))


def test_link_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the number of links per target scheme (run with -s to see them)."""
    counts = Counter(scheme(o) for _, _, o in link_triples())
    assert "unknown" not in counts
    with capsys.disabled():
        print(
            "\nlinks per target scheme: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
