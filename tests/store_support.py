"""Real stores and proxies for the tests: Virtuoso, Oxigraph server and nginx on loopback.

Each starts in its own temporary directory on free 127.0.0.1 ports, in its own process group,
and is stopped (and waited for) by ``stop``. Nothing here is a mock: these are the Debian
``virtuoso-t`` and ``nginx`` binaries and the ``oxigraph`` server from PyPI. The benchmark
(bench/store_publish.py) starts its stores with these same helpers.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from migration_kg.core.settings import Settings
from migration_kg.serve.virtuoso_bulk import run_isql

REPO = Path(__file__).resolve().parents[1]
NGINX_TEMPLATE = REPO / "deploy" / "nginx.conf.template"
# nginx takes a replica that refused a connection out of rotation for fail_timeout; a rolling
# switch waits that long after a restarted replica is healthy before stopping the next one, or
# nginx could see both as down at once ("no live upstreams": 502).
NGINX_FAIL_TIMEOUT_S = 1.0
NGINX_SERVER_OPTIONS = f"max_fails=1 fail_timeout={NGINX_FAIL_TIMEOUT_S:g}s"
VIRTUOSO_VSP = Path("/var/lib/virtuoso-opensource-7/vsp")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need(program: str) -> str:
    """The path of ``program``; fails (never skips) when it is missing: setup installs it."""
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin")
    beside = Path(sys.executable).parent / program
    if found is None and beside.exists():
        found = str(beside)
    if found is None:
        raise RuntimeError(f"{program} is not installed; run `scripts/setup test`")
    return found


@dataclass
class Process:
    """A server process in its own group, with its log file."""

    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, wait_s: float = 20) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
                self.popen.wait(wait_s)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def spawn(args: list[str], cwd: Path, log_name: str) -> Process:
    log = cwd / log_name
    with log.open("ab") as out:
        popen = subprocess.Popen(
            args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Process(popen, log)


def wait_http(
    url: str, process: Process, timeout_s: float = 60, ok: tuple[int, ...] = (200,)
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{url}: server exited: {process.log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code in ok:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}: not up within {timeout_s} s: {process.log.read_text()[-2000:]}")


VIRTUOSO_INI = """\
[Database]
DatabaseFile = virtuoso.db
ErrorLogFile = virtuoso.log
LockFile = virtuoso.lck
TransactionFile = virtuoso.trx
xa_persistent_file = virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = virtuoso-temp.db
TransactionFile = virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
MaxClientConnections = 40
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = ., {load_dir}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
ThreadsPerQuery = 2
VADInstallDir = /usr/share/virtuoso-opensource-7/vad/
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {vsp}
MaxClientConnections = 40
ServerThreads = 40
MaxKeepAlives = 40
KeepAliveTimeout = 10
Charset = UTF-8
EnabledGzipContent = 0
[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 400
"""


@dataclass
class Virtuoso:
    """A Virtuoso 7 server with a fresh database, a writer user and a dba password set."""

    root: Path
    http_port: int
    sql_port: int
    process: Process
    user: str = "emk"
    password: str = field(default_factory=lambda: "w" + secrets.token_hex(8))
    dba_password: str = field(default_factory=lambda: "d" + secrets.token_hex(8))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def gsp(self) -> str:
        return self.base + "/sparql-graph-crud-auth"

    @property
    def query(self) -> str:
        return self.base + "/sparql"

    @property
    def isql(self) -> str:
        return f"127.0.0.1:{self.sql_port}"

    @property
    def load_dir(self) -> Path:
        return self.root / "load"

    def settings(self, base: Settings, *, dba: bool = False) -> Settings:
        """``base`` with this store's credentials (the writer's, or dba's for the bulk loader)."""
        if dba:
            return replace(base, store_user="dba", store_password=self.dba_password)
        return replace(base, store_user=self.user, store_password=self.password)

    def stop(self) -> None:
        self.process.stop(wait_s=30)


def start_virtuoso(root: Path, buffers: int = 20_000) -> Virtuoso:
    """Start ``virtuoso-t`` on free loopback ports with a new database under ``root``."""
    binary = need("virtuoso-t")
    root.mkdir(parents=True, exist_ok=True)
    (root / "load").mkdir(exist_ok=True)
    http_port, sql_port = free_port(), free_port()
    ini = VIRTUOSO_INI.format(
        sql_port=sql_port,
        http_port=http_port,
        load_dir=root / "load",
        buffers=buffers,
        dirty=buffers * 3 // 4,
        vsp=VIRTUOSO_VSP if VIRTUOSO_VSP.is_dir() else root,
    )
    (root / "virtuoso.ini").write_text(ini, encoding="utf-8")
    process = spawn([binary, "+foreground", "+configfile", "virtuoso.ini"], root, "stdout.log")
    store = Virtuoso(root, http_port, sql_port, process)
    try:
        wait_http(f"{store.query}?query=ASK%7B%7D", process)
        statements = [
            f"DB.DBA.USER_CREATE('{store.user}', '{store.password}');",
            f'GRANT SPARQL_UPDATE TO "{store.user}";',
            f"SET PASSWORD dba {store.dba_password};",  # old, new (an identifier-like word)
        ]
        output = run_isql(store.isql, "dba", "dba", statements)  # a new database's default
        if "*** Error" in output:
            raise RuntimeError(f"setting up Virtuoso failed: {output[-2000:]}")
    except BaseException:
        store.stop()
        raise
    return store


@dataclass
class Oxigraph:
    """Oxigraph server (read-write) on a database directory."""

    root: Path
    port: int
    process: Process

    @property
    def gsp(self) -> str:
        return f"http://127.0.0.1:{self.port}/store"

    @property
    def query(self) -> str:
        return f"http://127.0.0.1:{self.port}/query"

    def stop(self) -> None:
        self.process.stop()

    def restart(self) -> Oxigraph:
        """Stop and start again on the same database and port (this object then runs it)."""
        self.stop()
        self.process = start_oxigraph(self.root, self.port).process
        return self


def start_oxigraph(root: Path, port: int | None = None) -> Oxigraph:
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        need("oxigraph"),
        "serve",
        "--location",
        str(root / "db"),
        "--bind",
        f"127.0.0.1:{port}",
    ]
    process = spawn(args, root, "oxigraph.log")
    server = Oxigraph(root, port, process)
    try:
        wait_http(f"{server.query}?query=ASK%7B%7D", process)
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class Nginx:
    """nginx in front of upstream servers, from the repository's template."""

    root: Path
    port: int
    process: Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.stop()


def start_nginx(root: Path, upstreams: list[str]) -> Nginx:
    """nginx on a free port balancing ``upstreams`` (host:port), with the repo's config."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o777)  # nginx's workers (nobody) buffer request bodies here
    port = free_port()
    servers = "\n".join(f"        server {u} {NGINX_SERVER_OPTIONS};" for u in upstreams)
    text = NGINX_TEMPLATE.read_text(encoding="utf-8")
    config = text.replace("@LISTEN@", f"127.0.0.1:{port}").replace("@UPSTREAMS@", servers)
    config = config.replace("@RUNTIME@", str(root))
    (root / "nginx.conf").write_text(config, encoding="utf-8")
    args = [need("nginx"), "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"]
    process = spawn(args, root, "nginx.log")
    server = Nginx(root, port, process)
    try:
        wait_http(server.url + "/nginx-health", process)
    except BaseException:
        server.stop()
        raise
    return server
