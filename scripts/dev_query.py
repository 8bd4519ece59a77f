"""Developer aid while the build pipeline is young: load ontology/ and data/, add derived periods,
apply the OWL RL closure, and run a SPARQL file or check the data for common slips.

Usage:
  .venv/bin/python scripts/dev_query.py check
  .venv/bin/python scripts/dev_query.py run queries/competency/x.rq [--golden tests/golden/competency/x.srj]
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import owlrl
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV, XSD

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from migration_kg.periods import PERIOD_BASE, parse_period  # noqa: E402

EMK = Namespace("https://w3id.org/eu-migration-kg/ontology#")
GRAN = "https://w3id.org/eu-migration-kg/id/concept/granularity/"


def load() -> tuple[Graph, Graph]:
    onto, data = Graph(), Graph()
    for f in sorted((ROOT / "ontology").glob("*.ttl")):
        onto.parse(f)
    for f in sorted((ROOT / "data").rglob("*.ttl")):
        if f.name != "prefixes.ttl":
            data.parse(f)
    for node in set(data.all_nodes()):
        if isinstance(node, URIRef) and str(node).startswith(PERIOD_BASE):
            p = parse_period(str(node)[len(PERIOD_BASE) :])
            data.add((node, RDF.type, EMK.Period))
            data.add((node, RDFS.label, Literal(p.label, lang="en")))
            data.add((node, EMK.startDate, Literal(p.start.isoformat(), datatype=XSD.date)))
            data.add((node, EMK.endDate, Literal(p.end.isoformat(), datatype=XSD.date)))
            data.add((node, EMK.granularity, URIRef(GRAN + p.granularity)))
    return onto, data


def closure() -> Graph:
    cache = ROOT / ".venv" / "dev-closure.pickle"
    stamp = max(f.stat().st_mtime for d in ("ontology", "data") for f in (ROOT / d).rglob("*.ttl"))
    if cache.exists() and cache.stat().st_mtime > stamp:
        return pickle.loads(cache.read_bytes())
    onto, data = load()
    g = Graph()
    for t in onto:
        g.add(t)
    for t in data:
        g.add(t)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    cache.write_bytes(pickle.dumps(g))
    return g


def check() -> int:
    onto, data = load()
    declared = {s for s in onto.subjects() if str(s).startswith(str(EMK))}
    problems = 0
    for s, p, o in data:
        for term in (p, o):
            if isinstance(term, URIRef) and str(term).startswith(str(EMK)) and term not in declared:
                print(f"undeclared term {term} in ({s}, {p}, {o})")
                problems += 1
    concepts = {s for s in onto.subjects(RDF.type, None)}
    for s, p, o in data:
        if isinstance(o, URIRef) and "/id/concept/" in str(o) and o not in concepts:
            print(f"unknown concept {o} used by {s}")
            problems += 1
    for s in set(data.subjects(RDF.type, None)):
        if str(s).startswith(PERIOD_BASE):
            continue
        if len(list(data.objects(s, RDFS.label))) != 1:
            print(f"{s}: {len(list(data.objects(s, RDFS.label)))} rdfs:label")
            problems += 1
        if (s, PROV.wasDerivedFrom, None) not in data and (s, EMK.inEdition, None) not in data:
            if (s, RDF.type, EMK.ReportSeries) not in data and (s, RDF.type, EMK.ReportEdition) not in data:
                print(f"{s}: no prov:wasDerivedFrom")
                problems += 1
    print(f"{len(data)} data triples, {problems} problems")
    return 1 if problems else 0


def run(path: str, golden: str | None) -> int:
    g = closure()
    result = g.query(Path(path).read_text())
    out = result.serialize(format="json")
    if golden:
        Path(golden).parent.mkdir(parents=True, exist_ok=True)
        Path(golden).write_bytes(out)
    if result.type == "ASK":
        print(result.askAnswer)
    else:
        for row in result:
            print(" | ".join("" if v is None else str(v) for v in row))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["check"]:
        sys.exit(check())
    if sys.argv[1:2] == ["run"]:
        golden = sys.argv[sys.argv.index("--golden") + 1] if "--golden" in sys.argv else None
        sys.exit(run(sys.argv[2], golden))
    print(__doc__)
    sys.exit(2)
