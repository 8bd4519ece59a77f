"""Validation: the asserted graph checked against shapes/*.ttl with pySHACL.

Second stage of the build (loading → periods → **validation** | reasoning → release). The data
graph is ontology + data + links, so that ``sh:targetClass`` and ``sh:class`` follow
``rdfs:subClassOf`` and shapes can check a concept's ``skos:inScheme``. The ontology is mixed in
here rather than passed as pySHACL's ``ont_graph``, which only "inoculates" class and property
axioms and would leave the concept schemes of vocabularies.ttl out. No inference is run
(``Inference.NONE``): SHACL already walks the subclass hierarchy of the data graph, and RDFS
domain/range inference would *type* resources that merely use a property, hiding the missing
``rdf:type`` a shape is there to catch. It is also the faster choice (see README).

Only ``sh:Violation`` results fail the build; warnings and infos are reported and kept.

* :mod:`.report` — the report types, reading pySHACL's report graph, rendering, conformance;
* :mod:`.run` — running pySHACL, its shapes dealt to forked worker processes;
* :mod:`.patches` — one module per patched library (pySHACL, rdflib's SPARQL processor),
  version-guarded and applied only around each pySHACL call.
"""

from __future__ import annotations

from migration_kg.build.validation.report import (
    Severity,
    ValidationReport,
    ValidationResult,
    require_conformance,
)
from migration_kg.build.validation.run import ValidationJob, start_validation, validate_sources

__all__ = [
    "Severity",
    "ValidationJob",
    "ValidationReport",
    "ValidationResult",
    "require_conformance",
    "start_validation",
    "validate_sources",
]
