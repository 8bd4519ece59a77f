"""Writing dist/: every artefact into a staging directory, then swapped in whole.

Why a swap: a build that fails half-way (a full disk, a bug in a writer) must leave the previous
release in place, because the endpoint may be serving it. Each artefact is written as soon as it
is made and only its digest is kept, so memory stays flat however large the release.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from migration_kg.build.collector import collector_paused
from migration_kg.build.release.content import ReleaseContent
from migration_kg.build.release.jsonld import jsonld_chunks
from migration_kg.build.release.manifest import manifest
from migration_kg.build.release.writers import (
    json_bytes,
    nquads_chunks,
    ntriples_chunks,
    output_prefixes,
    parse_canonical,
    serialize_parsed,
)
from migration_kg.core.formats import RdfFormat
from migration_kg.core.names import CONTEXT, MANIFEST, artefact

log = logging.getLogger(__name__)


@collector_paused()
def write_release(content: ReleaseContent, dist: Path) -> tuple[Path, ...]:
    """Write every artefact into a fresh directory, then swap it in place of ``dist``.

    Returns:
        The paths written, under ``dist``.
    """
    dist.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=dist.name + ".new-", dir=dist.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would make the release private
    try:
        names = _write_artefacts(content, staging)
        _swap(staging, dist)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return tuple(dist / name for name in names)


def _swap(staging: Path, dist: Path) -> None:
    """Swap ``staging`` in for ``dist``; each rename is atomic, the old release stays till then."""
    if dist.exists():
        retired = Path(tempfile.mkdtemp(prefix=dist.name + ".old-", dir=dist.parent))
        retired.rmdir()
        dist.rename(retired)
        staging.rename(dist)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(dist)


def _write_artefacts(content: ReleaseContent, out: Path) -> list[str]:
    """Write each artefact as soon as it is made, keeping only its digest (memory stays flat)."""
    digests: dict[str, dict[str, object]] = {}

    def put(name: str, make: Callable[..., Iterable[bytes] | bytes], *args: object) -> Path:
        log.info("writing %s", name)
        made = make(*args)
        digests[name] = _write(out / name, [made] if isinstance(made, bytes) else made)
        return out / name

    prefixes = output_prefixes(content.namespaces)
    nq = put(artefact(RdfFormat.NQUADS), nquads_chunks, content.lines)
    quads = parse_canonical(nq, RdfFormat.NQUADS)
    put(artefact(RdfFormat.TRIG), serialize_parsed, quads, RdfFormat.TRIG, prefixes)
    nt = put(artefact(RdfFormat.NTRIPLES), ntriples_chunks, content.union_lines)
    log.info("parsing %s", nt.name)
    union = list(parse_canonical(nt, RdfFormat.NTRIPLES))  # once for the next two
    for fmt in (RdfFormat.TURTLE, RdfFormat.RDFXML):
        put(artefact(fmt), serialize_parsed, union, fmt, prefixes)
    del union
    context = json.loads(content.independent[CONTEXT])
    put(artefact(RdfFormat.JSONLD), jsonld_chunks, content.union_lines, context)
    for name, data in content.independent.items():
        put(name, bytes, data)
    log.info("writing %s", MANIFEST)
    (out / MANIFEST).write_bytes(json_bytes(manifest(content, digests)))
    return [*sorted(digests), MANIFEST]


def _write(path: Path, chunks: Iterable[bytes]) -> dict[str, object]:
    """Write the chunks to ``path``; their sha256 and size as the manifest states them."""
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as file:
        for chunk in chunks:
            file.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}
