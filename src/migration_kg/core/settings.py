"""Settings: the one place paths, IRIs and server limits are decided (read once, passed explicitly).

Environment variables with the prefix ``EMK_`` override the defaults (``EMK_PORT=9000``); the CLI's
flags override both. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from migration_kg.core.errors import ConfigError
from migration_kg.core.names import BASE_IRI
from migration_kg.core.options import Reasoner


def _project_root() -> Path:
    """The checkout's root: where ontology/ and data/ live (the package is installed editable)."""
    return Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Settings:
    """Paths, IRIs and limits for building and serving the graph."""

    root: Path = field(default_factory=_project_root)
    dist_dir: Path | None = None
    releases_dir: Path | None = None  # archive of published releases, <dir>/<version>/
    base_iri: str = BASE_IRI
    public_base_url: str | None = None  # where the namespace is served, e.g. http://127.0.0.1:8000/
    host: str = "127.0.0.1"
    port: int = 8000
    query_timeout_s: float = 5.0
    result_row_cap: int = 10_000
    max_request_bytes: int = 1_000_000
    # Query intake (serve/intake.py): length, nesting, tree depth, group size, negations.
    max_query_length: int = 100_000
    max_query_nesting: int = 64
    max_query_depth: int = 256
    max_query_patterns: int = 48
    max_query_negations: int = 8
    service_allowlist: tuple[str, ...] = ()
    # Serving a public endpoint (README "Operating a public endpoint"); limits are per worker.
    evaluation: str = "process"  # or "thread": in-thread, no cancellation (a comparison baseline)
    evaluators: int = 0  # evaluator processes for quick queries; 0 = one per CPU
    heavy_after_s: float = 0.25  # a query running longer is "heavy": idle CPU priority, own lane
    max_heavy: int = 8  # heavy queries running at once
    max_concurrent: int = 0  # other requests evaluated at once; 0 = twice the evaluators
    queue_limit: int = 64  # requests waiting for a slot; past it, 503
    client_limit: int = 4  # one client's requests in flight (running or waiting); past it, 429
    trusted_proxies: tuple[str, ...] = ()  # addresses/CIDRs whose X-Forwarded-For is believed
    max_query_mb: int = 1024  # memory one evaluation may add to the loaded store; 0 = no limit
    max_worker_mb: int = 1024  # growth of a worker before it is recycled; 0 = never
    max_header_bytes: int = 32_768  # request line and headers
    header_timeout_s: float = 10.0  # from connection (or request) start to the end of headers
    body_timeout_s: float = 30.0  # from the end of headers to the end of the body
    keepalive_timeout_s: float = 5.0  # an idle keep-alive connection is closed after this
    max_connections: int = 1024  # open connections; past it, idle ones are closed, then 503
    metrics_dir: Path | None = None  # where workers share metrics; None = a fresh temporary one
    reasoner: Reasoner = Reasoner.RULES  # or OWLRL, the slow reference engine
    validation_workers: int = 0  # processes for SHACL validation; 0 = one per CPU (at most 4)
    # Credentials for a remote store (publish, serve --store): from EMK_STORE_USER and
    # EMK_STORE_PASSWORD only, never a flag; out of repr, so no log or traceback shows them.
    store_user: str | None = field(default=None, repr=False)
    store_password: str | None = field(default=None, repr=False)

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def effective_validation_workers(self) -> int:
        if self.validation_workers > 0:
            return self.validation_workers
        return max(1, min(4, os.cpu_count() or 1))

    @property
    def dist(self) -> Path:
        return self.dist_dir if self.dist_dir is not None else self.root / "dist"

    @property
    def releases(self) -> Path:
        """Where published releases are archived (``migration-kg release``), one folder each."""
        return self.releases_dir if self.releases_dir is not None else self.root / "releases"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``EMK_*`` variables, then explicit overrides (None means 'not given').

        Raises:
            ConfigError: naming the variable whose value cannot be read.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            key = f"EMK_{f.name.upper()}"
            if key in env:
                values[f.name] = _coerce(key, env[key], f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]


def _coerce(key: str, raw: str, annotation: object) -> object:
    text = str(annotation)
    if text == "Reasoner":
        if raw not in set(Reasoner):
            accepted = ", ".join(Reasoner)
            raise ConfigError(f"environment variable {key}={raw!r}: use one of {accepted}")
        return Reasoner(raw)
    try:
        if "Path" in text:
            return Path(raw)
        if text == "int":
            return int(raw)
        if text == "float":
            return float(raw)
        if "tuple" in text:
            return tuple(item for item in raw.split(",") if item)
    except ValueError as exc:
        raise ConfigError(f"environment variable {key}={raw!r}: {exc}") from exc
    return raw
