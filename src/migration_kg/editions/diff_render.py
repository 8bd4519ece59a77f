"""The forms of a release diff: text and Markdown for people, JSON and Turtle for machines.

* **text / markdown**: content changes grouped by kind (revised figures, commitments, events,
  next steps, status changes…), each resource with its label and the values added (+) and
  removed (minus sign), blank nodes (amounts) written inline; derived graphs summarised apart.
* **json**: ``{"old", "new", "changes": [{"resource", "graph", "change", "kind", "added",
  "removed"}]}``, triples as N-Triples lines, content changes first.
* **turtle**: the change history as linked data with the Talis changeset vocabulary
  (``cs:ChangeSet`` per resource and graph, ``cs:subjectOfChange``, ``cs:changeReason``,
  ``cs:addition`` / ``cs:removal`` of reified ``rdf:Statement``\\ s), the set of changes a
  ``prov:Entity`` derived from both releases. The vocabulary has no property for a named
  graph, so each change set says where it happened with ``prov:atLocation <graph IRI>``.

All forms are deterministic: the diff is sorted, and nothing reads the clock.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence

import pyoxigraph as ox

from migration_kg.core.names import BASE_IRI
from migration_kg.core.namespaces import GRAPH, ID, PREFIXES
from migration_kg.editions.diff import Change, ReleaseDiff, Triple

CS = "http://purl.org/vocab/changeset/schema#"
MINUS = "\u2212"  # the sign before a removed value
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_PROV = "http://www.w3.org/ns/prov#"
_DCTERMS = "http://purl.org/dc/terms/"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_LITERAL = re.compile(r'^"(?P<text>.*)"(?:\^\^<(?P<datatype>[^>]+)>|@(?P<lang>[\w-]+))?$', re.S)
_NUMERIC = {f"{_XSD}integer", f"{_XSD}decimal"}
_TITLES = {
    "revised figure": "Revised figures",
    "commitment added": "New commitments",
    "commitment removed": "Removed commitments",
    "amount changed": "Changed amounts",
    "commitment changed": "Other changes to commitments",
    "event added": "New events",
    "event removed": "Removed events",
    "event changed": "Changed events",
    "next step added": "New next steps",
    "next step removed": "Removed next steps",
    "next step done": "Next steps done",
    "next step changed": "Changed next steps",
    "status changed": "Status changes",
    "observation added": "New figures",
    "observation removed": "Removed figures",
    "observation changed": "Changed figures",
    "new source": "Also reported in the new edition",
}


def title_of(kind: str) -> str:
    """The heading a reader sees for a kind of change."""
    return _TITLES.get(kind, kind[:1].upper() + kind[1:])


class Shortener:
    """IRIs as prefixed names where a known prefix fits, literals as a reader writes them."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        known = {name: str(ns) for name, ns in PREFIXES.items()} | {"graph": str(GRAPH)}
        known |= dict(prefixes)
        self._prefixes = sorted(known.items(), key=lambda item: -len(item[1]))

    def iri(self, iri: str) -> str:
        for name, namespace in self._prefixes:
            local = iri[len(namespace) :]
            if iri.startswith(namespace) and local and re.fullmatch(r"[\w.\-]+", local):
                return f"{name}:{local}"
        return f"<{iri}>"

    def token(self, token: str) -> str:
        if token.startswith("<") and token.endswith(">"):
            return self.iri(token[1:-1])
        match = _LITERAL.match(token)
        if match is None:
            return token  # a blank node
        if match["datatype"] in _NUMERIC:
            return match["text"]
        if match["datatype"]:
            return f'"{match["text"]}"^^{self.iri(match["datatype"])}'
        return f'"{match["text"]}"' + (f"@{match['lang']}" if match["lang"] else "")


def render_json(diff: ReleaseDiff) -> str:
    """The JSON form (content changes first, then derived ones)."""
    body = {
        "old": diff.old,
        "new": diff.new,
        "changes": [
            {
                "resource": c.resource,
                "graph": c.graph,
                "change": c.change,
                "kind": c.kind,
                "added": list(c.added),
                "removed": list(c.removed),
            }
            for c in diff.changes
        ],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def render_text(diff: ReleaseDiff, prefixes: Mapping[str, str], *, markdown: bool = False) -> str:
    """Plain text (or Markdown): content changes by kind, then a summary of derived graphs."""
    short = Shortener(prefixes)
    out = [
        f"# What changed from {diff.old} to {diff.new}"
        if markdown
        else f"What changed from {diff.old} to {diff.new}"
    ]
    content = diff.content
    out.append("")
    out.append(f"{len(content)} resources changed in the content graphs (ontology, data, links).")
    groups: dict[str, list[Change]] = defaultdict(list)
    for change in content:
        groups[change.kind].append(change)
    for kind, changes in groups.items():
        out += [
            "",
            f"## {title_of(kind)} ({len(changes)})"
            if markdown
            else f"{title_of(kind)} ({len(changes)})",
        ]
        for change in changes:
            out += _change_lines(change, diff.labels, short, markdown)
    out += [
        "",
        "## Derived graphs" if markdown else "Derived graphs (not statements of the report)",
    ]
    out += _derived_lines(diff.derived, short, markdown)
    return "\n".join(out) + "\n"


def _change_lines(
    change: Change, labels: Mapping[str, str], short: Shortener, markdown: bool
) -> list[str]:
    label = labels.get(change.resource)
    name = short.iri(change.resource)
    head = f"{label} ({name})" if label else name
    graph = change.graph.rsplit("/", 1)[-1]
    where = "" if graph == "data" else f" [{graph}]"
    lines = [f"- **{head}**{where}" if markdown else f"  {head}{where}"]
    for sign, side in (("+", change.plus), (MINUS, change.minus)):
        for statement in statements(change.resource, side, short):
            lines.append(f"  - {sign} `{statement}`" if markdown else f"      {sign} {statement}")
    return lines


def statements(resource: str, triples: Sequence[Triple], short: Shortener) -> list[str]:
    """The resource's own triples as "predicate object", blank nodes written inline."""
    by_subject: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for s, p, o in triples:
        by_subject[s].append((p, o))
    used: set[str] = set()

    def value(token: str) -> str:
        if token.startswith("_:") and token in by_subject and token not in used:
            used.add(token)
            inner = " ; ".join(f"{short.token(p)} {value(o)}" for p, o in by_subject[token])
            return f"[ {inner} ]"
        return short.token(token)

    own = f"<{resource}>"
    lines = [f"{short.token(p)} {value(o)}" for p, o in by_subject.get(own, [])]
    for subject, pairs in by_subject.items():
        if subject != own and subject not in used:
            lines += [f"{short.token(subject)} {short.token(p)} {value(o)}" for p, o in pairs]
    return lines


def _derived_lines(changes: Sequence[Change], short: Shortener, markdown: bool) -> list[str]:
    totals: dict[str, list[int]] = {}
    for change in changes:
        entry = totals.setdefault(short.iri(change.graph), [0, 0, 0])
        entry[0] += 1
        entry[1] += len(change.plus)
        entry[2] += len(change.minus)
    if not totals:
        return ["No change."]
    if markdown:
        rows = ["| graph | resources | triples added | triples removed |", "|---|---|---|---|"]
        rows += [f"| `{g}` | {n} | {a} | {r} |" for g, (n, a, r) in totals.items()]
        return rows
    return [f"  {g}: {n} resources, +{a} {MINUS}{r} triples" for g, (n, a, r) in totals.items()]


def render_turtle(diff: ReleaseDiff, prefixes: Mapping[str, str]) -> bytes:
    """The diff as change sets (Talis changeset vocabulary) in Turtle."""
    changes_iri = changes_page_iri(diff.old, diff.new)
    root = ox.NamedNode(changes_iri)
    triples = [
        ox.Triple(root, _n(f"{_RDF}type"), _n(f"{_PROV}Entity")),
        ox.Triple(
            root,
            _n(f"{_RDFS}label"),
            ox.Literal(f"Changes from {diff.old} to {diff.new}", language="en"),
        ),
        ox.Triple(root, _n(f"{_PROV}wasDerivedFrom"), _n(f"{ID}release/{diff.old}")),
        ox.Triple(root, _n(f"{_PROV}wasDerivedFrom"), _n(f"{ID}release/{diff.new}")),
    ]
    for index, change in enumerate(diff.changes, start=1):
        node = ox.NamedNode(f"{changes_iri}#change-{index}")
        triples += [
            ox.Triple(root, _n(f"{_DCTERMS}hasPart"), node),
            ox.Triple(node, _n(f"{_RDF}type"), _n(f"{CS}ChangeSet")),
            ox.Triple(node, _n(f"{CS}subjectOfChange"), _n(change.resource)),
            ox.Triple(node, _n(f"{CS}changeReason"), ox.Literal(change.kind, language="en")),
            ox.Triple(node, _n(f"{_PROV}atLocation"), _n(change.graph)),
        ]
        for role, side in (("addition", change.added), ("removal", change.removed)):
            for number, line in enumerate(side, start=1):
                statement = ox.NamedNode(f"{changes_iri}#change-{index}-{role}-{number}")
                parsed = next(iter(ox.parse(line.encode(), format=ox.RdfFormat.N_TRIPLES)))
                triples += [
                    ox.Triple(node, _n(f"{CS}{role}"), statement),
                    ox.Triple(statement, _n(f"{_RDF}type"), _n(f"{_RDF}Statement")),
                    ox.Triple(statement, _n(f"{_RDF}subject"), parsed.subject),
                    ox.Triple(statement, _n(f"{_RDF}predicate"), parsed.predicate),
                    ox.Triple(statement, _n(f"{_RDF}object"), parsed.object),
                ]
    names = {"cs": CS, "graph": str(GRAPH), **{k: str(v) for k, v in PREFIXES.items()}}
    names |= dict(prefixes)
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=names) or b""


def changes_page_iri(old: str, new: str) -> str:
    """The IRI of the change set between two releases: the "What changed" page that serves it."""
    return f"{BASE_IRI}changes/{old}/{new}"


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)
