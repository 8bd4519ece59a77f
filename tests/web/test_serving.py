"""A public endpoint that no query can take down: the issue's scenarios against `serve` itself.

Every test starts `migration-kg serve` on a free 127.0.0.1 port (serve_support.py) and stops it;
timeouts are short (2 s) and request counts bounded, so each test takes seconds.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from proc_support import cpu_ticks, descendants
from serve_support import Served, free_port, serve, wait_for
from web_support import COUNTRIES

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
__all__ = ["serve"]  # the fixture, used by name

NEVER = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
LOOKUP = "SELECT ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } LIMIT 1"
Start = Callable[..., Served]


def _client(url: str, source: str = "127.0.0.1", **headers: str) -> httpx.Client:
    """A client whose requests come from ``source`` (any 127.x address is loopback)."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(
        base_url=url, transport=transport, trust_env=False, timeout=30, headers=headers
    )


def _timed_get(client: httpx.Client, query: str) -> tuple[int, float, httpx.Response]:
    started = time.monotonic()
    response = client.get("/sparql", params={"query": query})
    return response.status_code, time.monotonic() - started, response


def _lookups_until(client: httpx.Client, done: threading.Event) -> list[int]:
    statuses = []
    while not done.is_set():
        statuses.append(client.get("/sparql", params={"query": LOOKUP}).status_code)
        time.sleep(0.02)
    return statuses


def _idle_within(root: int, seconds: float) -> float:
    """Seconds until the whole tree under ``root`` uses under 5 % of a core (0.5 s windows)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        pids = descendants(root) | {root}
        before = cpu_ticks(pids)
        time.sleep(0.5)
        if cpu_ticks(pids) - before <= 2:  # clock ticks of 10 ms: 2 in 0.5 s is 4 %
            return time.monotonic() - started
    raise AssertionError(f"the server's processes still used CPU {seconds} s after the deadline")


def test_runaway_queries_are_cut_at_the_deadline_and_lookups_go_on(serve: Start) -> None:
    served = serve("--workers", "2", "--timeout", "3", "--evaluators", "1")
    done = threading.Event()
    with ThreadPoolExecutor(8) as pool, _client(served.url, "127.0.0.2") as other:
        looking = pool.submit(_lookups_until, other, done)
        heavy_clients = [_client(served.url) for _ in range(4)]
        heavy = [pool.submit(_timed_get, c, NEVER) for c in heavy_clients]
        results = [f.result() for f in heavy]
        last_deadline = time.monotonic()
        done.set()
        lookups = looking.result()
        for c in heavy_clients:
            c.close()
    for status, seconds, response in results:
        assert status == 503 and "exceeded the 3 s timeout" in response.text
        assert seconds < 3 + 1, seconds
        assert response.headers["retry-after"]
    assert lookups and set(lookups) == {200}, lookups
    assert time.monotonic() - last_deadline + _idle_within(served.pid, 2.0) < 2.5


def test_a_greedy_client_behind_the_proxy_gets_429_the_other_200(serve: Start) -> None:
    served = serve(
        "--workers", "1", "--timeout", "2", "--client-limit", "2", "--trusted-proxy", "127.0.0.1"
    )
    greedy = [_client(served.url, **{"X-Forwarded-For": "203.0.113.7"}) for _ in range(5)]
    with (
        ThreadPoolExecutor(5) as pool,
        _client(served.url, **{"X-Forwarded-For": "198.51.100.2"}) as other,
    ):
        answers = [pool.submit(_timed_get, c, NEVER) for c in greedy]
        time.sleep(0.5)
        mine = [other.get("/sparql", params={"query": LOOKUP}) for _ in range(5)]
        statuses = sorted(f.result()[0] for f in answers)
    for client in greedy:
        client.close()
    assert statuses == [429, 429, 429, 503, 503]  # two ran to the deadline, three over share
    assert [r.status_code for r in mine] == [200] * 5
    refused = next(f.result()[2] for f in answers if f.result()[0] == 429)
    assert refused.headers["retry-after"] == "1"
    assert "too many requests in flight from your address" in refused.text


def test_a_killed_worker_is_replaced_and_the_other_keeps_answering(serve: Start) -> None:
    served = serve("--workers", "2", "--evaluators", "1")
    wait_for(lambda: len(served.workers()) == 2, 30, "two workers")
    victim = min(served.workers())
    done, failures, answered = threading.Event(), [], []

    def lookups() -> None:
        with _client(served.url, Connection="close") as client:
            while not done.is_set():
                try:
                    answered.append(client.get("/sparql", params={"query": LOOKUP}).status_code)
                except httpx.TransportError as exc:
                    failures.append(exc)

    threads = [threading.Thread(target=lookups) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(served.workers() - {victim}) == 2, 30, "a replacement worker")
    time.sleep(0.5)
    done.set()
    for thread in threads:
        thread.join(30)
    assert set(answered) == {200} and len(answered) > 10
    assert len(failures) <= len(threads)  # at most the requests the dead worker held
    restarts = served.get("/metrics").text
    assert re.search(r'emk_worker_restarts_total\{reason="died"\} 1\.0', restarts)


def test_a_slow_client_is_cut_off_and_others_are_served(serve: Start) -> None:
    import socket

    served = serve("--workers", "1", "--header-timeout", "1")
    port = int(served.url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port)) as slow,
        socket.create_connection(("127.0.0.1", port)) as silent,
    ):
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = b""
        slow.settimeout(0.3)
        while time.monotonic() - started < 5:
            try:
                slow.sendall(b"X")  # one byte of a header every 0.3 s, forever
                chunk = slow.recv(4096)
            except TimeoutError:
                assert served.get("/health").status_code == 200  # others are served meanwhile
                continue
            except (ConnectionResetError, BrokenPipeError):
                break
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < 1 + 1
        silent.settimeout(3)
        assert silent.recv(1) == b""  # never sent a byte: closed without an answer


def test_oversized_headers_and_bodies_are_refused(serve: Start) -> None:
    served = serve("--workers", "1", "--max-header-bytes", "4096", "--max-request-bytes", "10000")
    with httpx.Client(base_url=served.url, trust_env=False, timeout=10) as client:
        big = client.get("/health", headers={"X-Padding": "x" * 8000})
        assert big.status_code == 431 and "4096" in big.text
        form = {"Content-Type": "application/sparql-query"}
        assert client.post("/sparql", content=b"A" * 20_000, headers=form).status_code == 413

        def chunks() -> object:
            for _ in range(30):
                yield b"B" * 1000

        chunked = client.post("/sparql", content=chunks(), headers=form)  # type: ignore[arg-type]
        assert chunked.status_code == 413
        assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200


def test_sigterm_drains_requests_in_flight(serve: Start) -> None:
    served = serve("--workers", "2", "--timeout", "2")
    with ThreadPoolExecutor(1) as pool, _client(served.url) as client:
        in_flight = pool.submit(_timed_get, client, NEVER)
        time.sleep(0.7)
        tree = descendants(served.pid)
        served.process.send_signal(signal.SIGTERM)
        status, seconds, _ = in_flight.result()
        assert served.process.wait(30) == 0
    assert status == 503 and seconds < 3  # answered at its deadline, not reset
    wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in tree), 10, "tree gone")


def test_a_worker_over_its_memory_ceiling_is_recycled_without_failures(serve: Start) -> None:
    served = serve("--workers", "2", "--max-worker-mb", "1", "--evaluators", "1")
    failures, statuses = [], []
    deadline = time.monotonic() + 20
    with _client(served.url, Connection="close") as client:
        while time.monotonic() < deadline:
            try:
                for country in COUNTRIES:  # rendering pages grows a worker by a few MB
                    statuses.append(client.get(f"/id/country/{country}").status_code)
            except httpx.TransportError as exc:
                failures.append(exc)
            metrics = client.get("/metrics").text
            if re.search(r'emk_worker_restarts_total\{reason="memory"\} [1-9]', metrics):
                break
    log = [line for line in served.log.read_text().splitlines() if not line.startswith("{")]
    assert re.search(r'emk_worker_restarts_total\{reason="memory"\} [1-9]', metrics), log[-20:]
    assert not failures and set(statuses) == {200}


def test_emk_port_and_host_are_honoured(serve: Start) -> None:
    port = free_port()
    served = serve("--workers", "1", env={"EMK_PORT": str(port), "EMK_HOST": "127.0.0.1"})
    assert served.get("/health").status_code == 200
    assert served.url.endswith(f":{port}")


def test_metrics_and_access_log_tell_what_happened(serve: Start) -> None:
    served = serve("--workers", "2", "--timeout", "1", "--client-limit", "1")
    with _client(served.url) as client, ThreadPoolExecutor(2) as pool:
        assert client.get("/sparql", params={"query": LOOKUP}).status_code == 200
        assert client.get("/sparql", params={"query": "ASK {"}).status_code == 400
        both = [pool.submit(_timed_get, _client(served.url), NEVER) for _ in range(2)]
        outcomes = sorted(f.result()[0] for f in both)
        sampled = 'emk_evaluator_events_total{event="killed_deadline"}'  # sampled once a second
        wait_for(lambda: sampled in client.get("/metrics").text, 5, "evaluator events sampled")
        text = client.get("/metrics").text
    assert 503 in outcomes
    for family in (
        'emk_http_requests_total{route="/sparql",status="200"}',
        'emk_http_requests_total{route="/sparql",status="400"}',
        'emk_http_request_duration_seconds_bucket{le="0.005",route="/sparql"}',
        'emk_queries_cancelled_total{reason="deadline"}',
        'emk_lane_requests{lane="quick",state="running"}',
        'emk_resident_memory_bytes{kind="worker",pid=',
        'emk_evaluator_events_total{event="killed_deadline"}',
    ):
        assert family in text, family
    if 429 in outcomes:
        assert 'emk_requests_rejected_total{reason="client_limit"}' in text
    lines = [line for line in served.log.read_text().splitlines() if line.startswith("{")]
    outcomes_logged = {re.search(r'"outcome": "([a-z-]+)"', line).group(1) for line in lines}  # type: ignore[union-attr]
    assert {"ok", "cancelled"} <= outcomes_logged
    assert all(
        re.search(r'"id": "[0-9a-f]+-[0-9a-f]+"', line) for line in lines if "/sparql" in line
    )
