"""What every library patch needs: a version guard and a swap of module globals that undoes itself.

Why a guard: a patch reaches into a library's internals, which any release may change without
notice. Each patch names the versions it was checked against (the ones pinned in
``requirements/runtime.lock``; a test keeps the two in step) and refuses any other, loudly,
rather than silently changing what pySHACL reports. Why a swap: the patches are for the
validation call only; afterwards the library is exactly as it was, in this process and in a
forked worker alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType

from migration_kg.core.errors import UnsupportedLibrary

_ABSENT = object()  # a global the module did not have before the swap


def require_version(library: str, installed: str, checked: tuple[str, ...], patch: str) -> None:
    """Refuse to patch a library version the patch was not checked against.

    Raises:
        UnsupportedLibrary: naming the installed and the checked versions, and the patch.
    """
    if installed not in checked:
        raise UnsupportedLibrary(
            f"{library} {installed} is installed, but {patch} was checked only against "
            f"{', '.join(checked)}: check the patch against {installed} (and run "
            "tests/test_validation_patches.py), then add the version to it"
        )


def require_names(module: ModuleType, *names: str) -> None:
    """Refuse to patch a module that lacks a name the patch replaces or reads.

    Raises:
        UnsupportedLibrary: naming the module and the missing names.
    """
    missing = [name for name in names if name not in vars(module)]
    if missing:
        raise UnsupportedLibrary(f"{module.__name__} has no {', '.join(missing)}: patch outdated")


@contextmanager
def swapped(module: ModuleType, replacements: Mapping[str, object]) -> Iterator[None]:
    """Set globals of ``module`` for the block, then restore exactly what was there (or nothing)."""
    namespace = vars(module)
    saved = {name: namespace.get(name, _ABSENT) for name in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _ABSENT:
                namespace.pop(name, None)
            else:
                namespace[name] = value
