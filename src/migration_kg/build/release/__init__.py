"""Release: the five named graphs written to dist/ in every format, reproducibly and atomically.

Fourth stage of the build (validation | reasoning → **release** → pipeline). Artefacts are first
written to a temporary directory beside dist/ and swapped in only when all are complete, so a
failed build leaves the previous release untouched. Two builds of the same sources give the same
bytes and nothing reads the clock.

How, and fast (a million triples in well under a minute): :func:`assemble` turns each release
graph once into sorted, distinct canonical N-Triples lines with blank nodes labelled from their
surroundings, and every artefact is written from those lines:

* ``emk.nq`` is the lines with their graph, one block per graph in ``RELEASE_GRAPHS`` order;
  ``emk.trig`` is pyoxigraph's TriG of the same quads in that order: one ``<g> {…}`` block each.
* ``emk.nt``, ``emk.ttl``, ``emk.rdf`` and ``emk.jsonld`` hold the union of the five graphs;
  ``ontology.ttl`` the ontology graph alone. Turtle, TriG and RDF/XML are pyoxigraph's writers
  (lexical forms kept exactly, prefixes from the sources and ``PREFIXES``).
* ``emk.jsonld`` stays *compact* JSON-LD with the published ``context.jsonld`` inline, compacted
  here (flattened, one node per line, in the order of ``emk.nt``).
* ``manifest.json`` (key-sorted) gives every artefact's sha256 and size, and counts.

The modules, from the bottom up (an import-linter contract in pyproject.toml keeps them one-way):

* :mod:`.union` — ``GraphUnion``, a read-only view over several rdflib graphs;
* :mod:`.canonical` — canonical N-Triples lines and stable blank-node labels;
* :mod:`.jsonld` — the published ``@context`` and the compact JSON-LD writer;
* :mod:`.writers` — N-Triples, N-Quads, Turtle, TriG, RDF/XML bytes from lines;
* :mod:`.framing` — the framed ``partner-countries.jsonld``;
* :mod:`.description` — the DCAT-AP and VoID description in the ``metadata`` graph;
* :mod:`.content` — :func:`assemble`: sources + inferred graph → :class:`ReleaseContent`;
* :mod:`.manifest` — ``manifest.json`` and the counts per graph and class;
* :mod:`.dist` — :func:`write_release`: every artefact into dist/, swapped in atomically.
"""

from __future__ import annotations

from migration_kg.build.release.content import ReleaseContent, assemble
from migration_kg.build.release.dist import write_release
from migration_kg.build.release.manifest import class_counts, graph_counts

__all__ = ["ReleaseContent", "assemble", "class_counts", "graph_counts", "write_release"]
