"""Entity resolution for the draft: which known countries, organisations, instruments, funds,
frameworks and routes a passage of the report names.

Why from the graph: a new edition names mostly what earlier editions named; resolving those names
to the IRIs already minted saves the encoder a lookup per fact and keeps one IRI per thing. Names
are every ``rdfs:label``, ``skos:prefLabel`` and ``skos:altLabel`` (acronyms are altLabels),
compared accent- and case-insensitively as whole words (``turkiye`` finds Türkiye). Where names
overlap, the longest wins ("Talent Partnership with Tunisia" hides the "Tunisia" inside it).
A name shared by several resources resolves to all of them: the worksheet shows the ambiguity.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from migration_kg.core.namespaces import EMK
from migration_kg.editions.outline import normalise_text

# The kinds of shared entity the draft resolves, by class (subclasses included), in this order.
FAMILIES = (
    ("country", EMK.Country),
    ("country", EMK.CountryGroup),
    ("route", EMK.MigratoryRoute),
    ("fund", EMK.FundingInstrument),
    ("framework", EMK.CooperationFramework),
    ("instrument", EMK.Instrument),
    ("organisation", EMK.Organisation),
)
_NAME_PREDICATES = (RDFS.label, SKOS.prefLabel, SKOS.altLabel)


@dataclass(frozen=True)
class Mention:
    """A resolved name: the resource, its family and the name as the graph writes it."""

    iri: str
    family: str
    name: str


class EntityIndex:
    """Normalised names of the graph's shared entities, matched as whole words."""

    def __init__(self, graph: Graph) -> None:
        families = _families(graph)
        self._names: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
        for resource, family in families.items():
            for predicate in _NAME_PREDICATES:
                for name in graph.objects(resource, predicate):
                    key = normalise_text(str(name))
                    if key and not key.isdigit():
                        self._names[key].add((str(resource), family, str(name)))
        ordered = sorted(self._names, key=lambda k: (-len(k), k))
        self._pattern = (
            re.compile(
                r"(?<![0-9a-z])(" + "|".join(re.escape(k) for k in ordered) + r")(?![0-9a-z])"
            )
            if ordered
            else None
        )

    def __len__(self) -> int:
        return len({iri for entries in self._names.values() for iri, _, _ in entries})

    def resolve(self, text: str) -> tuple[Mention, ...]:
        """The entities named in ``text``, in order of appearance, each once."""
        if self._pattern is None:
            return ()
        found: dict[str, Mention] = {}
        for match in self._pattern.finditer(normalise_text(text)):
            for iri, family, name in sorted(self._names[match.group(1)]):
                found.setdefault(iri, Mention(iri, family, name))
        return tuple(found.values())


def _families(graph: Graph) -> dict[URIRef, str]:
    """Each typed resource of a resolvable class and the family it belongs to."""
    supers: dict[URIRef, set[URIRef]] = defaultdict(set)
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            supers[sub].add(sup)

    def closure(cls: URIRef) -> set[URIRef]:
        seen, todo = {cls}, [cls]
        while todo:
            for parent in supers.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    result: dict[URIRef, str] = {}
    for resource, cls in graph.subject_objects(RDF.type):
        if not isinstance(resource, URIRef) or not isinstance(cls, URIRef):
            continue
        classes = closure(cls)
        for family, target in FAMILIES:
            if target in classes:
                current = result.get(resource)
                if current is None or _rank(family) < _rank(current):
                    result[resource] = family
                break
    return result


def _rank(family: str) -> int:
    return next(i for i, (name, _) in enumerate(FAMILIES) if name == family)
