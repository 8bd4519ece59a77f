"""Publish's other loader, for a Virtuoso on this machine: its bulk loader, driven through isql.

Virtuoso's bulk loader (``ld_dir`` + ``rdf_loader_run``) reads files from a directory the
server may read (``DirsAllowed`` in virtuoso.ini) straight into its indexes, skipping HTTP and
the per-request transaction of GSP. Each release graph is written to one N-Triples file there
(one document, so blank nodes stay whole), registered for its versioned graph IRI and loaded;
verification and the switch are then publish's own, exactly as after a GSP load.

isql takes a password only as an argument, which any user of the machine could read in the
process list; so isql is started without one on a pseudo-terminal and given the password at
its prompt. (isql first tries its default password, so each run costs one failed login in
Virtuoso's log; Virtuoso refuses an address for a minute after 4 failures in a row.)
Virtuoso lets only ``dba`` (or a user granted its rights) run the loader and ``checkpoint``.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import shutil
import time
from pathlib import Path

from migration_kg.core.errors import StoreError
from migration_kg.core.settings import Settings
from migration_kg.serve.release_chunks import ReleaseScan, chunks
from migration_kg.serve.store_http import StoreClient

ISQL_NAMES = ("isql-vt", "isql-v")
PROMPT = b"SQL> "
_ERROR_MARK = "EMK-LOAD-ERROR"


def find_isql() -> str:
    """Virtuoso's isql (Debian names it isql-vt; ``isql`` alone is unixODBC's).

    Raises:
        StoreError: none is installed.
    """
    for name in ISQL_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise StoreError("Virtuoso's isql (isql-vt) is not installed; install virtuoso-opensource")


def bulk_load(
    settings: Settings,
    isql_address: str,
    directory: Path,
    client: StoreClient,
    dist: Path,
    versions: dict[str, str],
    scan: ReleaseScan,
) -> None:
    """Write each graph's file under ``directory`` and bulk-load it into its versioned graph.

    Raises:
        StoreError: isql is missing or refused the login, or the loader reported an error.
    """
    if settings.store_user is None:
        raise StoreError("the bulk loader needs EMK_STORE_USER and EMK_STORE_PASSWORD")
    directory.mkdir(parents=True, exist_ok=True)
    files = _write_files(dist, directory.resolve(), versions, scan)
    for version in versions.values():
        client.delete_graph(version)  # ld_dir adds to a graph; a failed earlier try may remain
    script = [_sql_delete_list(directory.resolve())]
    script += [f"ld_dir({_sql(str(p.parent))}, {_sql(p.name)}, {_sql(g)});" for p, g in files]
    script += [
        "rdf_loader_run();",
        "checkpoint;",
        f"SELECT {_sql(_ERROR_MARK)}, ll_file, ll_error FROM DB.DBA.LOAD_LIST"
        f" WHERE ll_file LIKE {_sql(str(directory.resolve()) + '/%')} AND ll_error IS NOT NULL;",
    ]
    output = run_isql(isql_address, settings.store_user, settings.store_password or "", script)
    for line in output.splitlines():
        failed = line.startswith("*** Error") or (_ERROR_MARK in line and "SELECT" not in line)
        if failed and "ll_file" not in line:
            raise StoreError(f"{isql_address}: the bulk loader failed: {line.strip()}")
    for path, _ in files:
        path.unlink(missing_ok=True)


def _write_files(
    dist: Path, directory: Path, versions: dict[str, str], scan: ReleaseScan
) -> list[tuple[Path, str]]:
    """One N-Triples file per release graph, named for the versioned graph's build."""
    handles: dict[str, Path] = {}
    for chunk in chunks(dist, 100_000, scan):
        version = versions.get(chunk.graph)
        if version is None:
            raise StoreError(f"{dist}: graph <{chunk.graph}> is not in manifest.json")
        path = handles.get(version)
        if path is None:
            path = handles[version] = (
                directory / f"emk-{len(handles)}-{version.rsplit('/', 1)[-1]}.nt"
            )
            path.write_bytes(b"")
        with path.open("ab") as out:
            out.write(chunk.ntriples())
    return [(path, version) for version, path in handles.items()]


def run_isql(address: str, user: str, password: str, statements: list[str]) -> str:
    """Run ``statements`` in isql as ``user``, the password typed at isql's prompt.

    Raises:
        StoreError: isql is missing, the login is refused, or isql does not finish in time.
    """
    isql = find_isql()
    pid, fd = pty.fork()
    if pid == 0:  # the child: isql on the pseudo-terminal, no password in its arguments
        with contextlib.suppress(OSError):
            os.execv(isql, [isql, address, user])
        os._exit(127)
    try:
        seen = _read_until(fd, (b"password", PROMPT), 30)
        if b"password" in seen.lower() and PROMPT not in seen:
            os.write(fd, password.encode() + b"\n")
            seen = _read_until(fd, (PROMPT, b"Bad login"), 30)
        if PROMPT not in seen:
            raise StoreError(f"{address}: isql could not log in as {user!r} (check the password)")
        os.write(fd, ("\n".join([*statements, "EXIT;"]) + "\n").encode())
        return _read_until(fd, (), 3600).decode(errors="replace")
    finally:
        with contextlib.suppress(ChildProcessError):
            _reap(pid)
        os.close(fd)


def _read_until(fd: int, markers: tuple[bytes, ...], timeout: float) -> bytes:
    """Read the terminal until a marker appears, isql exits, or the timeout passes."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child closed the terminal: it exited
            return seen
        if not data:
            return seen
        seen += data
        if any(m in seen for m in markers):
            return seen
    if markers:
        return seen
    raise StoreError("isql did not finish within the bulk load's time limit")


def _reap(pid: int) -> None:
    """Wait briefly for isql to exit, then make sure it does."""
    for _ in range(50):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)
    os.waitpid(pid, 0)


def _sql_delete_list(directory: Path) -> str:
    """Forget earlier loads of files in ``directory`` (ld_dir skips files it has seen)."""
    return f"DELETE FROM DB.DBA.LOAD_LIST WHERE ll_file LIKE {_sql(str(directory) + '/%')};"


def _sql(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"
