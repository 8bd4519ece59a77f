"""Reasoning: the OWL 2 RL closure of ontology + data + links, kept apart as the ``inferred`` graph.

Third stage of the build (validation | **reasoning** → release). :func:`infer` (in
:mod:`.inferred`) runs the chosen engine and drops OWL RL's bookkeeping; the ``rules`` engine
is the rest of the package, from the bottom up:

* :mod:`.vocabulary` — the fixed ids of every term a rule mentions;
* :mod:`.terms` — the term store: terms interned as integers, triples indexed by predicate;
* :mod:`.profiles`, :mod:`.state` — the compiled profiles and the working state rules derive
  through; :mod:`.compilation` — the closed schema compiled into profiles;
* one module per table of the OWL 2 RL profile: :mod:`.eq`, :mod:`.prp`, :mod:`.cls`,
  :mod:`.cax`, :mod:`.dt`, :mod:`.scm`; the false-concluding rules in :mod:`.inconsistencies`;
* :mod:`.engine` — the driver: load, close the schema, fire each triple once, repeat.

An import-linter contract in pyproject.toml keeps these layers one-way.
"""

from __future__ import annotations

from migration_kg.build.reasoning.inferred import ReasoningResult, infer, is_noise

__all__ = ["ReasoningResult", "infer", "is_noise"]
