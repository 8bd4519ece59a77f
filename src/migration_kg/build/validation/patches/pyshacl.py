"""pySHACL patch: its "is this predicate a constraint parameter?" test as a set lookup.

Why: for every (shape, focus nodes) evaluation pySHACL tests each predicate of the shape
against a *list* of ~40 parameter IRIs, each test a Python-level ``URIRef.__eq__``: half of
the validation time at 100k triples. pySHACL caches that list as a global of its ``shape``
module on first use (``CONSTRAINT_PARAMS``, a private name); :func:`indexed_constraint_parameters`
seeds the cache with the same list, indexed, for the duration of a validation, and puts the
module's global back afterwards. Nothing else changes (tests/test_validation_patches.py
compares patched and stock reports on the real graph and on every shape fixture).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pyshacl
from pyshacl import constraints, shape

from migration_kg.build.validation.patches.guard import require_names, require_version, swapped

CHECKED_VERSIONS = ("0.40.1",)  # checked: shape.py caches the list in CONSTRAINT_PARAMS
PATCHED = "CONSTRAINT_PARAMS"


class ParameterList(list[Any]):
    """pySHACL's list of constraint parameters, with a set for membership tests.

    ``copy`` and ``append`` keep the set in step: pySHACL copies the list and appends the
    SHACL-AF parameters to the copy when ``advanced=True``.
    """

    def __init__(self, items: Iterable[Any]) -> None:
        super().__init__(items)
        self._members = set(self)

    def __contains__(self, item: object) -> bool:
        return item in self._members

    def copy(self) -> ParameterList:
        return ParameterList(self)

    def append(self, item: Any) -> None:
        super().append(item)
        self._members.add(item)


@contextmanager
def indexed_constraint_parameters() -> Iterator[None]:
    """pySHACL's constraint-parameter cache, indexed, for the block.

    Raises:
        UnsupportedLibrary: pySHACL is a version this patch was not checked against.
    """
    require_version("pySHACL", pyshacl.__version__, CHECKED_VERSIONS, __name__)
    require_names(constraints, "ALL_CONSTRAINT_PARAMETERS", "CONSTRAINT_PARAMETERS_MAP")
    indexed = (
        ParameterList(constraints.ALL_CONSTRAINT_PARAMETERS),
        constraints.CONSTRAINT_PARAMETERS_MAP,
    )
    with swapped(shape, {PATCHED: indexed}):
        yield
