"""Prometheus metrics (``/metrics``), shared across the forked worker processes.

With several workers, prometheus_client runs in multiprocess mode: each process writes its
values to files in one directory (the CLI creates it and sets ``PROMETHEUS_MULTIPROC_DIR``
before prometheus_client is imported, as the library requires) and any worker answering
/metrics adds them up. In a single process (tests) the app's own registry is rendered. The
metric objects belong to the app (``create_app`` builds one ``Metrics``), never to the module.

Per request: one counter and one histogram observation, label children cached, so that the
endpoint's cheapest lookups do not pay for their own bookkeeping. Queue depth, memory and
evaluator restarts are sampled once a second by each worker (``sample``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from migration_kg.serve.backend import Backend
from migration_kg.serve.pool import resident_bytes
from migration_kg.web.admission import Admission

CONTENT_TYPE = CONTENT_TYPE_LATEST
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_EVALUATOR_EVENTS = ("killed_deadline", "killed_gone", "killed_memory", "died", "lowered")


def worker_restarts(registry: CollectorRegistry | None = None) -> Counter:
    """The supervisor's counter of replaced workers (label ``reason``: died, memory)."""
    return Counter(
        "emk_worker_restarts", "Worker processes replaced", ["reason"], registry=registry
    )


class Metrics:
    """The endpoint's metrics; ``multiprocess_dir`` set when workers share them through files."""

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests = Counter(
            "emk_http_requests", "HTTP requests answered", ["route", "status"], registry=reg
        )
        self.latency = Histogram(
            "emk_http_request_duration_seconds",
            "Time from request to the end of the response",
            ["route"],
            buckets=_BUCKETS,
            registry=reg,
        )
        self.cancelled = Counter(
            "emk_queries_cancelled",
            "Queries stopped before they finished (deadline, client gone, heavy lane full)",
            ["reason"],
            registry=reg,
        )
        self.rejected = Counter(
            "emk_requests_rejected", "Requests refused by a limit", ["reason"], registry=reg
        )
        self.lane = Gauge(
            "emk_lane_requests",
            "Requests running or waiting, per lane",
            ["lane", "state"],
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.memory = Gauge(
            "emk_resident_memory_bytes",
            "Resident memory of each worker process and (kind=evaluators) of its evaluators",
            ["kind"],
            multiprocess_mode="liveall",
            registry=reg,
        )
        self.evaluators = Counter(
            "emk_evaluator_events",
            "Evaluator processes killed, died or lowered to idle priority",
            ["event"],
            registry=reg,
        )
        self._children: dict[tuple[str, str], Any] = {}
        self._latency: dict[str, Any] = {}
        self._seen: dict[str, int] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        key = (route, str(status))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(route, key[1])
        child.inc()
        timer = self._latency.get(route)
        if timer is None:
            timer = self._latency[route] = self.latency.labels(route)
        timer.observe(seconds)

    def sample(self, admission: Admission | None, engine: Backend) -> None:
        """Once a second per worker: lane depths, memory, evaluator events since last time."""
        if admission is not None:
            for lane, (running, waiting) in admission.depth().items():
                self.lane.labels(lane, "running").set(running)
                self.lane.labels(lane, "waiting").set(waiting)
        self.memory.labels("worker").set(resident_bytes(os.getpid()))
        stats = engine.stats()
        if not stats:
            return
        self.memory.labels("evaluators").set(sum(rss for _, rss, _ in stats["evaluators"]))
        for event in _EVALUATOR_EVENTS:
            delta = stats[event] - self._seen.get(event, 0)
            if delta > 0:
                self.evaluators.labels(event).inc(delta)
            self._seen[event] = stats[event]

    def render(self) -> bytes:
        """The Prometheus text format: every worker's values in multiprocess mode."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(registry)
