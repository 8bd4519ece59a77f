"""Deterministic synthetic editions shaped like the real graph, for benchmarks at scale.

Why copies of the real edition rather than random triples: the queries, shapes and rules are
written for this graph's shape (classes, property paths, fan-out, literals), so a copy with
fresh IRIs exercises exactly what users exercise. Each copy is a separate *edition*: every
resource minted by the 2025-03 edition files (sections, events, actions, funding,
observations, …) gets a suffixed IRI and a suffixed label (the edition itself is dated
9000-01, 9000-02, …), while what editions share (the
ontology, countries, organisations, funds, periods, links) stays shared, as it would be for a
real second edition. Numbers, dates and amounts are kept, so SHACL passes and every copy is
as valid as the original; labels say "synthetic" so a copy can never pass for a fact.

The output is a project tree (ontology/, shapes/ and queries/ linked to the checkout, data/
copied, plus ``data/synthetic/sNNNN.ttl``) that ``migration-kg build`` builds like the real one:

    .venv/bin/python bench/synthetic.py --triples 100000 --out /tmp/emk-100k
    EMK_ROOT=/tmp/emk-100k .venv/bin/migration-kg build

Sizes are release quads (ontology + data + links + inferred + metadata), estimated before
the build from the real release's ratio of inferred to asserted triples.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

ROOT = Path(__file__).resolve().parents[1]
REAL_EDITION = "data/2025-03"
ID = "https://w3id.org/eu-migration-kg/id/"
SHARED_PREFIXES = (ID + "period/", ID + "concept/")  # never minted by an edition
EDITION_IRI = re.compile(re.escape(ID) + r"report/[a-z0-9-]+/[0-9]{4}-[0-9]{2}$")
# emk:acronym too: shapes require each acronym among the altLabels, so both get the same suffix.
ACRONYM = URIRef("https://w3id.org/eu-migration-kg/ontology#acronym")
LABELS = frozenset({RDFS.label, SKOS.prefLabel, SKOS.altLabel, DCTERMS.title, ACRONYM})
LINKED = ("ontology", "shapes", "queries")  # read-only parts of the project, linked not copied
# Release quads per asserted edition triple, measured on synthetic releases (each copy adds its
# 6,255 triples and ~2,900 inferred ones): used only to pick the number of copies.
RELEASE_PER_EDITION_TRIPLE = 1.46


@dataclass(frozen=True)
class Template:
    """The real edition as N-Triples lines with a ``{0}`` slot wherever a copy differs."""

    lines: tuple[str, ...]
    minted: int  # resources that get a new IRI per copy

    def render(self, n: int) -> str:
        """Copy ``n`` (from 1): suffix ``-sNNNN``; its edition is dated in the year 9000+."""
        suffix = f"s{n:04d}"
        edition = f"{9000 + (n - 1) // 12}-{(n - 1) % 12 + 1:02d}"
        return "".join(line.replace("\x00", suffix).replace("\x01", edition) for line in self.lines)


def edition_template(root: Path = ROOT) -> Template:
    """Parse the real edition once and mark where each copy must differ."""
    edition = Graph(bind_namespaces="none")
    for path in sorted((root / REAL_EDITION).glob("*.ttl")):
        edition.parse(path, format="turtle")
    shared = Graph(bind_namespaces="none")
    for path in sorted((root / "data").rglob("*.ttl")):
        if REAL_EDITION not in path.as_posix():
            shared.parse(path, format="turtle")
    # Typed outside the edition: shared. Links (data/links/) say more about an edition's own
    # resources (a section's EuroVoc subjects) without making them shared.
    shared_subjects = set(shared.subjects(RDF.type, None))
    minted = {
        s
        for s in edition.subjects()
        if isinstance(s, URIRef)
        and str(s).startswith(ID)
        and not str(s).startswith(SHARED_PREFIXES)
        and s not in shared_subjects
    }
    lines = sorted(_line(triple, minted) for triple in edition)
    return Template(lines=tuple(lines), minted=len(minted))


def _line(triple: tuple[object, object, object], minted: set[URIRef]) -> str:
    s, p, o = triple
    label = p in LABELS and s in minted and isinstance(o, Literal)
    return f"{_term(s, minted)} {_term(p, minted)} {_term(o, minted, label)} .\n"


def _term(term: object, minted: set[URIRef], label: bool = False) -> str:
    """N-Triples form of ``term``; NUL marks the copy's suffix, SOH its edition's month."""
    if isinstance(term, URIRef):
        if term in minted and EDITION_IRI.match(term):  # shapes require <series>/<YYYY-MM>
            return f"<{term[: -len('YYYY-MM')]}\x01>"
        return f"<{term}-\x00>" if term in minted else f"<{term}>"
    if isinstance(term, BNode):
        return f"_:b{term}x\x00"
    assert isinstance(term, Literal)
    if label:
        term = Literal(f"{term} (synthetic \x00)", lang=term.language, datatype=term.datatype)
    return term.n3()


def copies_for(target_quads: int, template: Template, base_quads: int) -> int:
    """How many synthetic editions bring the release to about ``target_quads``."""
    per_copy = len(template.lines) * RELEASE_PER_EDITION_TRIPLE
    return max(0, round((target_quads - base_quads) / per_copy))


def generate(out: Path, target_quads: int, root: Path = ROOT, base_quads: int = 14_000) -> dict:
    """Write a buildable project tree at ``out`` holding the real edition plus N copies.

    Returns a summary (copies, asserted triples written) that the harness records.
    """
    template = edition_template(root)
    copies = copies_for(target_quads, template, base_quads)
    if out.exists():
        shutil.rmtree(out)
    (out / "data" / "synthetic").mkdir(parents=True)
    for name in LINKED:
        os.symlink(root / name, out / name)
    for entry in sorted((root / "data").iterdir()):  # copied: rglob does not follow links
        copy = shutil.copytree if entry.is_dir() else shutil.copy2
        copy(entry, out / "data" / entry.name)
    for n in range(1, copies + 1):
        (out / "data" / "synthetic" / f"s{n:04d}.ttl").write_text(
            template.render(n), encoding="utf-8"
        )
    summary = {
        "target_quads": target_quads,
        "copies": copies,
        "edition_triples": len(template.lines),
        "minted_per_copy": template.minted,
        "synthetic_triples": copies * len(template.lines),
    }
    (out / "synthetic.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, required=True, help="target release quads")
    parser.add_argument("--out", type=Path, required=True, help="project tree to (re)create")
    args = parser.parse_args(argv)
    if args.triples <= 0:
        parser.error(f"--triples must be positive, got {args.triples}")
    print(json.dumps(generate(args.out, args.triples), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
