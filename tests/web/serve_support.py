"""`migration-kg serve` in a child process on a free 127.0.0.1 port, always stopped.

Used by the tests that need the real supervisor, workers and evaluators. ``stop`` sends
SIGTERM (a drain), waits, SIGKILLs if it must, and checks that no process of the tree is left.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from proc_support import descendants

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], seconds: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (httpx.TransportError, FileNotFoundError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {seconds} s")


@dataclass
class Served:
    """A running server: its supervisor process, base URL and access log (its stdout)."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        with httpx.Client(base_url=self.url, trust_env=False, timeout=30) as client:
            return client.get(path, **kwargs)  # type: ignore[arg-type]

    def workers(self) -> set[int]:
        return {p for p in descendants(self.pid) if _parent(p) == self.pid}

    def stop(self) -> None:
        tree = descendants(self.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        wait_for(lambda: not any(_alive(p) for p in tree), 10, "every server process gone")


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.fixture()
def serve(release_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `serve` with extra arguments (and environment); every server is stopped after."""
    started: list[Served] = []

    def start(*args: str, env: dict[str, str] | None = None, port: int | None = None) -> Served:
        port = int((env or {}).get("EMK_PORT", 0)) or port or free_port()
        environment = {
            **os.environ,
            "EMK_DIST_DIR": str(release_dir),
            "PYTHONPATH": str(REPO / "src"),
            **(env or {}),
        }
        code = "from migration_kg.cli import main; main()"
        command = [sys.executable, "-c", code, "serve", *args]
        if "EMK_PORT" not in (env or {}):
            command += ["--port", str(port)]
        log = tmp_path / f"serve-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        served = Served(process, f"http://127.0.0.1:{port}", log)
        started.append(served)
        wait_for(lambda: served.get("/health").status_code == 200, 60, "server ready")
        return served

    yield start
    for served in started:
        served.stop()
