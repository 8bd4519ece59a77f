"""Library patches for the validation call: one module per library, each guarded and undone.

:func:`library_patches` applies them all for one pySHACL run (in this process or in a forked
worker) and restores the libraries afterwards; no patch is ever applied at import time or for
the whole process. (While a patch is on, it is on for every thread of the process: a module
global is swapped. That is harmless: patched and stock give the same answers, only faster.)
Each patch refuses a library version it was not checked against (:mod:`.guard`).
tests/test_validation_patches.py proves that patched and stock pySHACL report the same results
on the real graph and on every shape fixture, and that nothing leaks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from migration_kg.build.validation.patches.pyshacl import indexed_constraint_parameters
from migration_kg.build.validation.patches.rdflib_sparql import prepared_sparql


@contextmanager
def library_patches() -> Iterator[None]:
    """pySHACL's indexed constraint parameters and rdflib's SPARQL cache, for the block.

    Raises:
        UnsupportedLibrary: an installed version that a patch was not checked against.
    """
    with indexed_constraint_parameters(), prepared_sparql():
        yield


__all__ = ["library_patches"]
