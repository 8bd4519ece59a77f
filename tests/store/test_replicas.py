"""Replicas behind nginx: a replica killed under load, then a rolling switch to a new release.

Real processes only: two `migration-kg serve` replicas and nginx (from deploy/nginx.conf.template)
on loopback ports; a bounded load of SPARQL requests (GET and POST) through nginx, counted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from migration_kg.core.settings import Settings
from store_support import NGINX_FAIL_TIMEOUT_S, Nginx, free_port, start_nginx, wait_http

QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CLI = Path(sys.executable).parent / "migration-kg"


@dataclass
class Replica:
    """One `migration-kg serve` process on a fixed port (restarted on the same port)."""

    port: int
    dist: Path
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self, dist: Path) -> None:
        self.dist = dist
        env = {**os.environ, "EMK_DIST_DIR": str(dist)}
        with self.log.open("ab") as out:
            args = [str(CLI), "serve", "--port", str(self.port), "--workers", "1"]
            self.popen = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_serving(self, build_hash: str, timeout_s: float = 60) -> None:
        """Until /health answers with ``build_hash`` (what a rolling switch waits for)."""
        assert self.popen is not None
        url = f"http://127.0.0.1:{self.port}/health"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.popen.poll() is None, self.log.read_text()[-2000:]
            try:
                if httpx.get(url, timeout=2, trust_env=False).json()["build_hash"] == build_hash:
                    return
            except (httpx.TransportError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"replica {self.port} did not serve {build_hash}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop; SIGTERM lets uvicorn finish the requests it has (a graceful restart)."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)


@dataclass
class Load:
    """Client threads sending queries through nginx until stopped; every outcome is kept."""

    url: str
    threads: int = 4
    outcomes: list[tuple[float, str, str]] = field(default_factory=list)  # (time, status, etag)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for number in range(self.threads):
            thread = threading.Thread(target=self._run, args=(number,), daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(30)

    def _run(self, number: int) -> None:
        deadline = time.monotonic() + 120  # bounded even if the test never stops it
        with httpx.Client(base_url=self.url, timeout=20, trust_env=False) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    if number % 2:
                        response = client.post("/sparql", data={"query": QUERY})
                    else:
                        response = client.get("/sparql", params={"query": QUERY})
                    status, etag = str(response.status_code), response.headers.get("etag", "")
                except httpx.HTTPError as exc:
                    status, etag = type(exc).__name__, ""
                self.outcomes.append((time.monotonic(), status, etag))

    def failures(self, since: float = 0.0, until: float = float("inf")) -> list[str]:
        return [s for t, s, _ in self.outcomes if since <= t <= until and s != "200"]


def in_rotation(nginx: Nginx, replica: Replica, timeout_s: float = 30) -> None:
    """Until nginx sends a request to ``replica`` again (it took it out when it went down)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = httpx.get(nginx.url + "/health", timeout=5, trust_env=False)
        if response.headers.get("x-upstream", "").endswith(f":{replica.port}"):
            return
        time.sleep(NGINX_FAIL_TIMEOUT_S / 4)
    raise AssertionError(f"nginx did not take replica {replica.port} back")


def second_release(first: Path, target: Path) -> Path:
    """The fixture release again under another build hash: what a new release looks like."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "emk.trig").write_bytes((first / "emk.trig").read_bytes())
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    manifest["build_hash"] = "fixture-second-release"
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return target


@pytest.fixture()
def topology(tmp_path: Path, fixture_settings: Settings) -> Iterator[tuple[Nginx, list[Replica]]]:
    replicas = [
        Replica(free_port(), fixture_settings.dist, tmp_path / f"replica-{n}.log") for n in (0, 1)
    ]
    nginx: Nginx | None = None
    try:
        for replica in replicas:
            replica.start(fixture_settings.dist)
        for replica in replicas:
            replica.wait_serving("fixture-0123456789abcdef")
        nginx = start_nginx(tmp_path / "nginx", [f"127.0.0.1:{r.port}" for r in replicas])
        yield nginx, replicas
    finally:
        for replica in replicas:
            replica.stop(signal.SIGKILL)
        if nginx is not None:
            nginx.stop()


def test_killed_replica_and_rolling_switch_fail_no_request(
    topology: tuple[Nginx, list[Replica]], tmp_path: Path, fixture_settings: Settings
) -> None:
    nginx, replicas = topology
    new = second_release(fixture_settings.dist, tmp_path / "release-2")
    with Load(nginx.url) as load:
        time.sleep(1.0)
        killed_at = time.monotonic()
        replicas[0].stop(signal.SIGKILL)  # a crash: in-flight requests on it are cut
        time.sleep(1.5)
        replicas[0].start(fixture_settings.dist)
        replicas[0].wait_serving("fixture-0123456789abcdef")
        rolling_from = time.monotonic()
        in_rotation(nginx, replicas[0])
        for replica in replicas:  # the rolling switch: one replica at a time, graceful
            replica.stop()
            replica.start(new)
            replica.wait_serving("fixture-second-release")
            in_rotation(nginx, replica)
        rolling_to = time.monotonic()
        time.sleep(1.0)
    served = [o for o in load.outcomes if o[1] == "200"]
    assert len(served) > 50, "the load did not run"
    # a crash may fail only what was in flight on the dead replica (at most one per client)
    assert len(load.failures(killed_at, rolling_from)) <= load.threads, load.failures()
    assert load.failures(rolling_from) == []  # the rolling switch fails nothing
    assert load.failures(0, killed_at) == []
    after = [etag for t, status, etag in load.outcomes if t > rolling_to + 0.2]
    assert after and all("fixture-second-release" in etag for etag in after)
    assert wait_http(nginx.url + "/health", nginx.process) is None
