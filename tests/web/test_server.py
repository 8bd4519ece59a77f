"""`migration-kg serve` with several worker processes: sharing, restarts, stopping, the cache.

Each test starts the CLI in its own process over the fixture release on a free 127.0.0.1 port
and stops it; no traffic goes anywhere else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from migration_kg.web import server

REPO = Path(__file__).resolve().parents[2]
ASK = {"query": "ASK { ?s ?p ?o }"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _wait(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if callable(condition) and condition():
                return
        except (httpx.TransportError, FileNotFoundError):
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


@pytest.fixture()
def serve(release_dir: Path) -> Iterator[object]:
    """Start `serve` with extra arguments; yields (process, base URL); always stopped."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> tuple[subprocess.Popen[bytes], str]:
        port = _free_port()
        env = {**os.environ, "EMK_DIST_DIR": str(release_dir), "PYTHONPATH": str(REPO / "src")}
        code = "from migration_kg.cli import main; main()"
        command = [sys.executable, "-c", code, "serve", "--port", str(port), *args]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        _wait(lambda: httpx.get(url + "/health", trust_env=False).status_code == 200)
        return process, url

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_answer_restart_and_stop_together(serve: object) -> None:
    process, url = serve("--workers", "2")  # type: ignore[operator]
    workers = _children(process.pid)
    assert len(workers) == 2
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        for _ in range(6):  # new connections: the kernel spreads them over both workers
            assert client.get("/sparql", params=ASK, headers={"connection": "close"}).json()
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    _wait(lambda: len(_children(process.pid) - {victim}) == 2)
    assert httpx.get(url + "/sparql", params=ASK, trust_env=False).json()["boolean"] is True
    current = _children(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    for pid in current:
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_cache_flag_turns_the_result_cache_on(serve: object) -> None:
    _, url = serve("--workers", "1", "--cache")  # type: ignore[operator]
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        first = client.get("/sparql", params=ASK)
        again = client.get("/sparql", params=ASK)
        assert (first.headers["x-result-cache"], again.headers["x-result-cache"]) == ("miss", "hit")
        assert client.get("/health").json()["result_cache"]["hits"] == 1


def test_cache_is_off_by_default(serve: object) -> None:
    _, url = serve("--workers", "1")  # type: ignore[operator]
    response = httpx.get(url + "/sparql", params=ASK, trust_env=False)
    assert "x-result-cache" not in response.headers
    assert "result_cache" not in httpx.get(url + "/health", trust_env=False).json()


def test_listen_binds_one_port_for_every_worker() -> None:
    sockets = server.listen("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1 and len(sockets) == 3
        with pytest.raises(OSError):
            server.listen("127.0.0.1", ports.pop(), 1)  # taken: fails before anything loads
    finally:
        for sock in sockets:
            sock.close()
