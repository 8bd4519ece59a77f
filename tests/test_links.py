"""Offline verification of the outbound links in data/links/ (issue 9).

Why offline: a link that points at a retired authority code, a misspelled EuroVoc id or the wrong
act is worse than no link, and CI has no internet. Authority-table and EuroVoc links are checked
against the snapshots in ``../shared/vocab/`` (the code exists, is not deprecated, and for
``skos:exactMatch`` its English label is one of our names unless the curated table documents the
difference); ELI, CELEX, COM and Wikidata identifiers, which have no snapshot, must each be an
entry of the curated table ``data/links/curated-identifiers.csv`` (with its reason) and follow
their syntax; ELI, CELEX and COM numbers also name the stored page that states them (issue 17).
EuroVoc subjects (``dcterms:subject``) index sections, instruments, funds and frameworks with
concepts of the snapshot.
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

from kg_helpers import REPO, BuiltRelease
from migration_kg.core.namespaces import GRAPH_DATA, GRAPH_LINKS

LINKS_DIR = REPO / "data" / "links"
CURATED = LINKS_DIR / "curated-identifiers.csv"
VOCAB = REPO.parent / "shared" / "vocab"
AT = Namespace("http://publications.europa.eu/ontology/authority/")
EMK = Namespace("https://w3id.org/eu-migration-kg/ontology#")
EUROVOC_ROOT = URIRef("http://eurovoc.europa.eu/100141")
EUVOC = Namespace("http://publications.europa.eu/ontology/euvoc#")
AUTHORITY = "http://publications.europa.eu/resource/authority/"
MATCHES = (SKOS.exactMatch, SKOS.closeMatch)
LINK_PROPERTIES = (*MATCHES, DCTERMS.identifier, DCTERMS.subject)
IDENTIFIER_SCHEMES = {"eli", "celex", "com", "wikidata"}
SOURCED_SCHEMES = {"eli", "celex", "com"}
STATUSES = {"linked", "label-differs", "unverified", "left-out"}
PATTERNS = {
    "eli": re.compile(r"^http://data\.europa\.eu/eli/(reg|dir|dec)/[0-9]{4}/[1-9][0-9]*/oj$"),
    "celex": re.compile(r"^(3[0-9]{4}[RLD]|5[0-9]{4}PC)[0-9]{4}$"),
    "com": re.compile(r"^COM\(([0-9]{4})\) ([1-9][0-9]*) final$"),
    "wikidata": re.compile(r"^http://www\.wikidata\.org/entity/Q[1-9][0-9]*$"),
    "eurovoc": re.compile(r"^http://eurovoc\.europa\.eu/(c_[0-9a-f]{8}|[1-9][0-9]*)$"),
}
# Which scheme each link file may target: one file per scheme keeps review and counts simple.
FILE_SCHEMES = {
    "countries.ttl": {"country"},
    "corporate-bodies.ttl": {"corporate-body"},
    "currency.ttl": {"currency"},
    "eu-programmes.ttl": {"eu-programme"},
    "legal-acts.ttl": {"eli", "celex", "com"},
    "eurovoc.ttl": {"eurovoc"},
    "eurovoc-subjects.ttl": {"eurovoc"},
    "wikidata.ttl": {"wikidata"},
}

needs_vocab = pytest.mark.usefixtures("shared_vocab")  # fails, never skips, without them


def scheme(target: object) -> str:
    """The target scheme of a link object: an authority table's name, eli, celex, com, eurovoc or
    wikidata (identifiers are literals: a COM document number or else a CELEX number)."""
    text = str(target)
    if isinstance(target, Literal):
        return "com" if text.startswith("COM(") else "celex"
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
    """Every outbound link: exact/close matches, CELEX and COM numbers, EuroVoc subjects."""
    graph = links()
    found = [(s, p, o) for p in LINK_PROPERTIES for s, o in graph.subject_objects(p)]
    return sorted(found, key=lambda t: (str(t[0]), str(t[1]), str(t[2])))


@cache
def ontology() -> Graph:
    graph = Graph()
    for path in sorted((REPO / "ontology").glob("*.ttl")):
        graph.parse(path)
    return graph


def instances(kind: URIRef) -> set[Node]:
    """Resources of data/ typed with ``kind`` or one of its sub-classes (stated types only)."""
    kinds = set(ontology().transitive_subjects(RDFS.subClassOf, kind))
    return {s for k in kinds for s in data().subjects(RDF.type, k)}


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
        used = {scheme(o) for p in LINK_PROPERTIES for o in graph.objects(None, p)}
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
    """ELI, CELEX, COM and Wikidata have no offline snapshot: each link is a reviewed entry."""
    linked = {
        (r["iri"], r["scheme"], r["target"])
        for r in curated()
        if r["status"] == "linked" and r["scheme"] in IDENTIFIER_SCHEMES
    }
    found = {
        (str(s), scheme(o), str(o)) for s, _, o in link_triples() if scheme(o) in IDENTIFIER_SCHEMES
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
        celex = {
            str(o) for o in links().objects(subject, DCTERMS.identifier) if scheme(o) == "celex"
        }
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
                Literal(row["target"])
                if row["scheme"] in {"celex", "com"}
                else URIRef(row["target"])
            )
            assert any((URIRef(row["iri"]), p, target) in links() for p in LINK_PROPERTIES), where


URL = re.compile(r"^https?://[^\s/]+\.[a-z]{2,}(/\S*)?$")
# Kinds of resource the EuroVoc index covers, and the resources of those kinds it leaves out (the
# snapshot has no concept for them).
INDEXED_KINDS = (
    EMK.ReportSection,
    EMK.LegalAct,
    EMK.LegislativeProposal,
    EMK.Fund,
    EMK.CooperationFramework,
    EMK.ActionPlan,
    EMK.Roadmap,
    EMK.Strategy,
)
NOT_INDEXED = {
    "instr:gsp-regulation-2023-2663": "trade preferences: no such concept in the snapshot",
    "instr:gsp-regulation-current": "trade preferences: no such concept in the snapshot",
    "instr:gsp-regulation-proposal": "trade preferences: no such concept in the snapshot",
    "coop:euda-working-arrangement-montenegro": "drugs: no such concept in the snapshot",
}


def test_identifiers_name_the_page_that_states_them() -> None:
    """Issue 17: every ELI, CELEX and COM number links to the stored pages that confirm it."""
    rows = [r for r in curated() if r["scheme"] in SOURCED_SCHEMES and r["status"] == "linked"]
    assert len(rows) > 40
    for row in rows:
        sources = row["source"].split()
        where = f"{row['resource']} ({row['scheme']} {row['target']})"
        assert sources, f"{where}: no source"
        assert all(URL.match(url) for url in sources), f"{where}: malformed source {sources}"


def test_proposal_celex_and_com_numbers_agree() -> None:
    """A proposal's CELEX number is sector 5, its COM year, PC and its COM number."""
    checked = 0
    for subject in set(links().subjects(DCTERMS.identifier, None)):
        ids = {scheme(o): str(o) for o in links().objects(subject, DCTERMS.identifier)}
        if "com" not in ids:
            continue
        match = PATTERNS["com"].match(ids["com"])
        assert match, ids["com"]
        assert (subject, RDF.type, EMK.LegislativeProposal) in data(), subject
        if "celex" in ids:
            year, number = match.groups()
            assert ids["celex"] == f"5{year}PC{int(number):04d}", subject
            checked += 1
    assert checked >= 9


def test_every_act_and_proposal_has_its_identifier_or_a_reason() -> None:
    """Complete EU links: each act has its CELEX number or ELI and each proposal its COM number, or
    the curated table says why not."""
    recorded = {(r["iri"], r["scheme"]) for r in curated()}
    missing = []
    for kind, wanted in ((EMK.LegalAct, {"celex", "eli"}), (EMK.LegislativeProposal, {"com"})):
        members = instances(kind)
        assert members, kind
        missing += [
            f"{r}: no {wanted} entry"
            for r in members
            if not {(str(r), w) for w in wanted} & recorded
        ]
    assert sorted(missing) == []


@needs_vocab
def test_eurovoc_subjects_are_current_concepts_of_eurovoc() -> None:
    vocab = vocabulary("eurovoc")
    subjects = list(links().subject_objects(DCTERMS.subject))
    assert len(subjects) > 300
    for resource, concept in subjects:
        assert (concept, RDF.type, SKOS.Concept) in vocab, f"{resource} → {concept}: not a concept"
        assert (concept, SKOS.inScheme, EUROVOC_ROOT) in vocab, f"{concept}: not in EuroVoc"
        assert str(vocab.value(concept, OWL.deprecated)) != "true", f"{concept}: deprecated"


def test_eurovoc_index_covers_sections_instruments_and_frameworks() -> None:
    resources = {r for kind in INDEXED_KINDS for r in instances(kind)}
    assert len(resources) > 190
    prefixes = Graph().parse(REPO / "data" / "prefixes.ttl").namespace_manager
    unindexed = {
        prefixes.normalizeUri(r) for r in resources if (r, DCTERMS.subject, None) not in links()
    }
    assert unindexed == set(NOT_INDEXED)


def test_release_keeps_links_in_their_own_graph(built_release: BuiltRelease) -> None:
    graphs = built_release.result.content.graphs
    assert len(graphs[GRAPH_LINKS]) == len(links())
    assert not list(graphs[GRAPH_DATA].triples((None, SKOS.exactMatch, None)))


def test_link_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the number of links per target scheme and predicate (run with -s to see them)."""
    counts = Counter(
        f"{scheme(o)} {'subject' if p == DCTERMS.subject else str(p).rsplit('#', 1)[-1]}"
        for _, p, o in link_triples()
    )
    assert not any(key.startswith("unknown") for key in counts)
    with capsys.disabled():
        print(
            "\nlinks per target scheme: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
