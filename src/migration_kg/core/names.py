"""Names spelled once: the base IRI and what is minted under it, the licence, the artefact files.

Every IRI the project mints is built here from ``BASE_IRI``; every release file name is here, so
the build that writes ``emk.trig`` and the server that reads it cannot disagree. (rdflib
``Namespace`` objects built from these live in :mod:`migration_kg.core.namespaces`.)
"""

from __future__ import annotations

from migration_kg.core.formats import RdfFormat

BASE_IRI = "https://w3id.org/eu-migration-kg/"
ONTOLOGY_IRI = BASE_IRI + "ontology"
GRAPH_BASE = BASE_IRI + "graph/"
ID_BASE = BASE_IRI + "id/"
SOURCE_BASE = BASE_IRI + "source/"  # one named graph per source file while building
PERIOD_BASE = ID_BASE + "period/"
GRANULARITY_BASE = ID_BASE + "concept/granularity/"
SPARQL_ENDPOINT_IRI = BASE_IRI + "sparql"
RELEASE_BASE = BASE_IRI + "release/"  # + <version>/<file>: where release files are published

# The ontology and data licence (the code is EUPL-1.2).
LICENCE = "https://creativecommons.org/licenses/by/4.0/"

# Release artefacts (files in dist/).
ARTEFACT_STEM = "emk"
MANIFEST = "manifest.json"
CONTEXT = "context.jsonld"
ONTOLOGY_ARTEFACT = "ontology.ttl"
FRAMED_ARTEFACT = "partner-countries.jsonld"


def artefact(fmt: RdfFormat) -> str:
    """The release file holding the whole release in ``fmt`` (``emk.trig``, ``emk.ttl``…)."""
    return f"{ARTEFACT_STEM}.{fmt.extension}"


# What the server loads: every named graph, in the format pyoxigraph bulk-loads fastest.
DATASET_ARTEFACT = artefact(RdfFormat.TRIG)


def release_file_iri(version: str, name: str) -> str:
    """Where release file ``name`` of ``version`` is published (its DCAT download URL)."""
    return f"{RELEASE_BASE}{version}/{name}"
