"""Release: every artefact re-parses to the built graphs; builds are reproducible and atomic.

Why these checks: users load whichever format their tool reads, so every artefact must state
exactly the same triples (checked with two parsers, rdflib and pyoxigraph), keep literals'
exact text, compact ``emk.jsonld`` with the published context, and come out byte-identical
from two builds.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from kg_helpers import REPO, BuiltRelease, assert_isomorphic
from migration_kg.build import release as release_module
from migration_kg.build.pipeline import build
from migration_kg.build.release import dist as dist_module
from migration_kg.build.release.canonical import canonical_lines
from migration_kg.build.release.jsonld import jsonld_context
from migration_kg.build.release.union import GraphUnion
from migration_kg.build.release.writers import serialize_graph, serialize_quads
from migration_kg.core.errors import ValidationFailed
from migration_kg.core.formats import RdfFormat
from migration_kg.core.namespaces import EMK, GRAPH_ONTOLOGY, PREFIXES, RELEASE_GRAPHS
from migration_kg.core.settings import Settings

TRIPLE_ARTEFACTS = [("emk.ttl", "turtle"), ("emk.nt", "nt"), ("emk.rdf", "xml"),
                    ("emk.jsonld", "json-ld")]  # fmt: skip
EXPECTED_FILES = {
    "emk.trig", "emk.nq", "emk.ttl", "emk.nt", "emk.rdf", "emk.jsonld",
    "context.jsonld", "ontology.ttl", "manifest.json", "partner-countries.jsonld",
}  # fmt: skip


def test_the_release_holds_every_artefact(built_release: BuiltRelease) -> None:
    assert {p.name for p in built_release.dist.iterdir()} == EXPECTED_FILES
    assert {p.name for p in built_release.result.paths} == EXPECTED_FILES


@pytest.mark.parametrize(("name", "fmt"), [("emk.trig", "trig"), ("emk.nq", "nquads")])
def test_dataset_artefacts_round_trip(built_release: BuiltRelease, name: str, fmt: str) -> None:
    parsed = Dataset()
    parsed.parse(built_release.dist / name, format=fmt)
    expected = built_release.result.content.graphs
    named = {g.identifier for g in parsed.graphs() if len(g)}
    assert named <= set(RELEASE_GRAPHS)
    for iri in RELEASE_GRAPHS:
        assert_isomorphic(expected[iri], parsed.graph(iri), f"{name} graph <{iri}>")


@pytest.mark.parametrize(("name", "fmt"), TRIPLE_ARTEFACTS)
def test_union_artefacts_round_trip(built_release: BuiltRelease, name: str, fmt: str) -> None:
    parsed = Graph().parse(built_release.dist / name, format=fmt)
    assert_isomorphic(built_release.result.content.union(), parsed, name)


def test_ontology_artefact_is_the_ontology_graph(built_release: BuiltRelease) -> None:
    parsed = Graph().parse(built_release.dist / "ontology.ttl", format="turtle")
    assert_isomorphic(built_release.result.content.graphs[GRAPH_ONTOLOGY], parsed, "ontology.ttl")


def test_context_gives_readable_keys(built_release: BuiltRelease) -> None:
    context = json.loads((built_release.dist / "context.jsonld").read_text())["@context"]
    assert context["emk"] == "https://w3id.org/eu-migration-kg/ontology#"
    assert context["startDate"] == {"@id": "emk:startDate", "@type": "xsd:date"}
    assert context["organiser"] == {"@id": "emk:organiser"}
    document = json.loads((built_release.dist / "emk.jsonld").read_text())
    assert document["@context"] == context


def test_jsonld_is_compacted_with_our_prefixes_and_terms(built_release: BuiltRelease) -> None:
    """No IRI in a declared namespace is left in full; typed values under their term are bare."""
    document = json.loads((built_release.dist / "emk.jsonld").read_text())
    namespaces = tuple(str(ns) for ns in PREFIXES.values())
    nodes = document["@graph"]
    for node in nodes:
        for name in [node["@id"], *node, *_as_list(node.get("@type", []))]:
            assert not name.startswith(namespaces), f"{name} is not compacted"
    periods = [n for n in nodes if "emk:Period" in _as_list(n.get("@type", []))]
    assert periods and all(isinstance(n["startDate"], str) for n in periods)


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _ox_set(path: Path, fmt: ox.RdfFormat) -> set[ox.Quad]:
    return set(ox.parse(path=path, format=fmt))


def test_every_artefact_states_the_same_triples(built_release: BuiltRelease) -> None:
    """A second parser (pyoxigraph, JSON-LD included) reads the very same quads everywhere."""
    dist = built_release.dist
    union = _ox_set(dist / "emk.nt", ox.RdfFormat.N_TRIPLES)
    for name, fmt in [("emk.ttl", ox.RdfFormat.TURTLE), ("emk.rdf", ox.RdfFormat.RDF_XML),
                      ("emk.jsonld", ox.RdfFormat.JSON_LD)]:  # fmt: skip
        assert _ox_set(dist / name, fmt) == union, name
    quads = _ox_set(dist / "emk.nq", ox.RdfFormat.N_QUADS)
    assert _ox_set(dist / "emk.trig", ox.RdfFormat.TRIG) == quads
    assert {ox.Quad(q.subject, q.predicate, q.object) for q in quads} == union


@pytest.mark.parametrize(
    ("name", "fmt"), [("emk.nt", ox.RdfFormat.N_TRIPLES), ("emk.nq", ox.RdfFormat.N_QUADS)]
)
def test_line_artefacts_are_canonical(
    built_release: BuiltRelease, name: str, fmt: ox.RdfFormat
) -> None:
    """N-Triples and N-Quads are written by hand: they must be what pyoxigraph would write."""
    data = (built_release.dist / name).read_bytes()
    assert ox.serialize(ox.parse(data, format=fmt), format=fmt) == data


def test_counts_are_those_of_the_graphs(built_release: BuiltRelease) -> None:
    """The counts taken from the lines equal rdflib's counts over the release graphs."""
    graphs = built_release.result.content.graphs
    assert built_release.result.triples == {str(iri): len(graphs[iri]) for iri in RELEASE_GRAPHS}
    assert built_release.result.instances == release_module.class_counts(dict(graphs))


def test_manifest_matches_files_and_counts(built_release: BuiltRelease) -> None:
    dist = built_release.dist
    manifest = json.loads((dist / "manifest.json").read_text())
    result = built_release.result
    assert manifest["version"] == result.version
    assert manifest["build_hash"] == result.build_hash
    assert manifest["triples"] == result.triples
    assert manifest["instances"] == result.instances
    assert manifest["validation"]["conforms"] is True
    assert list(manifest) == sorted(manifest)
    assert set(manifest["artefacts"]) == EXPECTED_FILES - {"manifest.json"}
    for name, entry in manifest["artefacts"].items():
        data = (dist / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}, name
    for source in manifest["sources"]:
        data = (REPO / source["path"]).read_bytes()
        assert source["sha256"] == hashlib.sha256(data).hexdigest(), source["path"]
    assert [s["path"] for s in manifest["sources"]] == sorted(
        s["path"] for s in manifest["sources"]
    )


@pytest.mark.slow
def test_two_builds_give_the_same_bytes(built_release: BuiltRelease, tmp_path: Path) -> None:
    """A second build in a fresh process, with another hash seed, writes identical files."""
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
        "EMK_ROOT": str(REPO),
        "EMK_DIST_DIR": str(tmp_path / "dist"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    code = "from migration_kg.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "build"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    for name in sorted(EXPECTED_FILES):
        first = (built_release.dist / name).read_bytes()
        second = (tmp_path / "dist" / name).read_bytes()
        assert first == second, f"{name} differs between two builds"


def _seed_release(dist: Path) -> bytes:
    dist.mkdir(parents=True)
    (dist / "emk.trig").write_text("# the previous release\n")
    return (dist / "emk.trig").read_bytes()


def test_failed_validation_leaves_dist_untouched(tiny_project: Callable[..., Settings]) -> None:
    shape = (
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "@prefix emk: <https://w3id.org/eu-migration-kg/ontology#> .\n"
        "[] a sh:NodeShape ; sh:targetClass emk:Event ;\n"
        "   sh:property [ sh:path emk:date ; sh:minCount 1 ] .\n"
    )
    settings = tiny_project(shapes={"events.ttl": shape})
    before = _seed_release(settings.dist)
    with pytest.raises(ValidationFailed):
        build(settings)
    assert [p.name for p in settings.dist.iterdir()] == ["emk.trig"]
    assert (settings.dist / "emk.trig").read_bytes() == before
    assert sorted(p.name for p in settings.dist.parent.iterdir()) == ["dist", "project"]


def test_failure_while_writing_leaves_dist_untouched(
    tiny_project: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tiny_project()
    before = _seed_release(settings.dist)

    def broken(*args: object, **kwargs: object) -> dict[str, object]:
        raise OSError("disk full")

    monkeypatch.setattr(dist_module, "manifest", broken)
    with pytest.raises(OSError, match="disk full"):
        build(settings)
    assert (settings.dist / "emk.trig").read_bytes() == before
    assert sorted(p.name for p in settings.dist.parent.iterdir()) == ["dist", "project"]


def test_a_successful_build_replaces_the_previous_release(
    tiny_project: Callable[..., Settings],
) -> None:
    settings = tiny_project()
    _seed_release(settings.dist)
    result = build(settings)
    assert {p.name for p in settings.dist.iterdir()} == EXPECTED_FILES
    assert (settings.dist / "emk.trig").read_bytes() != b"# the previous release\n"
    assert result.triples[str(RELEASE_GRAPHS[1])] > 0
    assert sorted(p.name for p in settings.dist.parent.iterdir()) == ["dist", "project"]


# Unit tests of the byte writers, on a small graph with the hard cases.

EX = "http://example.org/"
TRICKY = [
    Literal("36000000", datatype=XSD.decimal),  # rdflib's Turtle writer made this 36000000.0
    Literal("1.50", datatype=XSD.decimal),
    Literal("0.10", datatype=XSD.decimal),
    Literal("true", datatype=XSD.boolean),
    Literal("2025-01-01", datatype=XSD.date),
    Literal('line one\nline "two"\ttab \\ and \u00e9 \U0001f600'),
    Literal("colour", lang="en-GB"),
    Literal("plain"),
]
CONTROL = Literal("bell \x07 and \x7f")  # XML 1.0 cannot hold these: not in RDF/XML


def _tricky_graph(xml: bool = False) -> Graph:
    graph = Graph()
    subject = URIRef(EX + "s")
    for n, value in enumerate(TRICKY if xml else [*TRICKY, CONTROL]):
        graph.add((subject, URIRef(f"{EX}p{n}"), value))
    amount = BNode()
    graph.add((subject, EMK.amount, amount))
    graph.add((amount, URIRef("https://schema.org/value"), Literal("1.0", datatype=XSD.decimal)))
    graph.add((subject, EMK.startDate, Literal("2025-01-01", datatype=XSD.date)))
    graph.add((subject, EMK.startDate, Literal("2025", datatype=XSD.gYear)))
    graph.add((subject, EMK.startDate, Literal("not a date")))
    graph.add((subject, RDF.type, EMK.Period))
    return graph


def _as_written(literal: Literal) -> tuple[str, str, str | None]:
    """What a parser must read back: the literal's own text, datatype and language."""
    language = literal.language.lower() if literal.language else None
    datatype = literal.datatype or (RDF.langString if language else XSD.string)
    return str(literal), str(datatype), language


def _lexical(quads: set[ox.Quad]) -> set[tuple[str, str, str | None]]:
    return {
        (q.object.value, q.object.datatype.value, q.object.language)
        for q in quads
        if isinstance(q.object, ox.Literal)
    }


@pytest.mark.parametrize("fmt", list(RdfFormat))
def test_every_format_keeps_literals_exactly(fmt: RdfFormat) -> None:
    graph = _tricky_graph(xml=fmt is RdfFormat.RDFXML)
    ontology = Graph()
    ontology.add(
        (EMK.startDate, RDF.type, URIRef("http://www.w3.org/2002/07/owl#DatatypeProperty"))
    )
    ontology.add((EMK.startDate, RDFS.range, XSD.date))
    if fmt.supports_datasets and fmt is not RdfFormat.JSONLD:
        data = serialize_quads({URIRef(EX + "g"): graph}, fmt, {})
    else:
        data = serialize_graph(graph, fmt, {}, context=jsonld_context(ontology))
    ox_format = {
        RdfFormat.TURTLE: ox.RdfFormat.TURTLE, RdfFormat.NTRIPLES: ox.RdfFormat.N_TRIPLES,
        RdfFormat.RDFXML: ox.RdfFormat.RDF_XML, RdfFormat.JSONLD: ox.RdfFormat.JSON_LD,
        RdfFormat.TRIG: ox.RdfFormat.TRIG, RdfFormat.NQUADS: ox.RdfFormat.N_QUADS,
    }[fmt]  # fmt: skip
    parsed = set(ox.parse(data, format=ox_format))
    expected = {_as_written(o) for o in graph.objects() if isinstance(o, Literal)}
    assert _lexical(parsed) == expected
    assert len(parsed) == len(graph)
    quads = fmt in (RdfFormat.TRIG, RdfFormat.NQUADS)
    reread = (Dataset() if quads else Graph()).parse(data=data, format=fmt.rdflib_name)
    assert len(reread.graph(URIRef(EX + "g")) if quads else reread) == len(graph)  # rdflib too


def test_jsonld_uses_a_term_only_where_it_reads_back_the_same() -> None:
    ontology = Graph()
    ontology.add(
        (EMK.startDate, RDF.type, URIRef("http://www.w3.org/2002/07/owl#DatatypeProperty"))
    )
    ontology.add((EMK.startDate, RDFS.range, XSD.date))
    document = json.loads(serialize_graph(_tricky_graph(), RdfFormat.JSONLD, {},
                                          context=jsonld_context(ontology)))  # fmt: skip
    node = next(n for n in document["@graph"] if n["@id"] == EX + "s")
    assert node["@type"] == "emk:Period"
    assert sorted(node["startDate"], key=str) == sorted(
        ["2025-01-01", {"@value": "2025", "@type": "xsd:gYear"}, {"@value": "not a date"}], key=str
    )
    assert node[EX + "p0"] == {"@value": "36000000", "@type": "xsd:decimal"}
    assert node[EX + "p6"] == {"@value": "colour", "@language": "en-gb"}
    assert node[EX + "p7"] == "plain"


def _parsed(turtle: str) -> Graph:
    return Graph().parse(data=turtle, format="turtle")


def test_blank_node_labels_follow_the_graph_not_the_parse() -> None:
    """Fresh parses (new random labels, another order) give the same lines; values tell apart."""
    turtle = """@prefix ex: <http://example.org/> .
        ex:a ex:amount [ ex:value 1 ] , [ ex:value 2 ] .
        ex:b ex:amount [ ex:value 1 ] .
    """
    reordered = "\n".join(reversed(turtle.strip().splitlines()[1:]))
    g = URIRef(EX + "g")
    first = canonical_lines({g: [_parsed(turtle)]})
    second = canonical_lines({g: [_parsed("@prefix ex: <http://example.org/> .\n" + reordered)]})
    assert first == second
    labels = {line.split(" ")[0] for line in first[g] if line.startswith("_:")}
    assert len(labels) == 3


def test_a_blank_node_shared_between_graphs_keeps_one_label() -> None:
    data = _parsed("@prefix ex: <http://example.org/> . ex:a ex:amount [ ex:value 1 ] .")
    amount = next(data.objects(URIRef(EX + "a"), URIRef(EX + "amount")))
    inferred = Graph()
    inferred.add((amount, RDF.type, URIRef(EX + "Amount")))
    lines = canonical_lines({URIRef(EX + "data"): [data], URIRef(EX + "inferred"): [inferred]})
    in_data = {t for line in lines[URIRef(EX + "data")] for t in line.split() if t[:2] == "_:"}
    in_inferred = {line.split(" ")[0] for line in lines[URIRef(EX + "inferred")]}
    assert in_data == in_inferred and len(in_data) == 1


def test_a_graph_union_reads_through_without_duplicates() -> None:
    one = _parsed("@prefix ex: <http://example.org/> . ex:a ex:p 1 , 2 .")
    two = _parsed("@prefix ex: <http://example.org/> . ex:a ex:p 2 , 3 .")
    union = GraphUnion([one, two])
    assert len(union) == 3 and len(list(union)) == 3
    assert sorted(int(o) for o in union.objects(URIRef(EX + "a"), URIRef(EX + "p"))) == [1, 2, 3]
    assert (URIRef(EX + "a"), URIRef(EX + "p"), Literal(3)) in union
    with pytest.raises(TypeError):
        union.add((URIRef(EX + "a"), URIRef(EX + "p"), Literal(4)))
