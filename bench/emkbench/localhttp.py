"""One-off HTTP requests to the servers under test, on 127.0.0.1 only and never via a proxy.

Used for readiness checks, loading Oxigraph's in-memory store and the result-count check; the
timed load itself is wrk's (see load.py).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

# No ProxyHandler entries: an http_proxy in the environment must not divert loopback traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
SELECT_MEDIA = "application/sparql-results+json"
GRAPH_MEDIA = "application/n-triples"


@dataclass(frozen=True)
class Answer:
    """What one request returned."""

    status: int
    body: bytes
    content_type: str
    seconds: float


def local_url(port: int, path: str, query: str | None = None) -> str:
    """``http://127.0.0.1:<port><path>?query=…`` (the only host the harness ever talks to)."""
    url = f"http://127.0.0.1:{port}{path}"
    if query is not None:
        url += "?" + urllib.parse.urlencode({"query": query})
    return url


def request(
    url: str,
    accept: str = SELECT_MEDIA,
    timeout_s: float = 30.0,
    data: bytes | None = None,
    content_type: str | None = None,
) -> Answer:
    """GET (or POST ``data``) ``url``; HTTP errors come back as an Answer, not an exception."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing non-loopback URL {url}")
    headers = {"Accept": accept}
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=data, headers=headers)
    started = time.perf_counter()
    try:
        with _OPENER.open(req, timeout=timeout_s) as response:
            body, status = response.read(), response.status
            media = response.headers.get("content-type", "")
    except urllib.error.HTTPError as exc:
        body, status, media = exc.read(), exc.code, exc.headers.get("content-type", "")
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):  # callers tell slow from broken
            raise TimeoutError(str(exc.reason)) from exc
        raise
    return Answer(status, body, media, time.perf_counter() - started)


def post_file(url: str, path: str, content_type: str, timeout_s: float) -> Answer:
    """POST a file's bytes streamed from disk (loading a 1M-quad store must not copy it here)."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing non-loopback URL {url}")
    with open(path, "rb") as body:
        size = os.fstat(body.fileno()).st_size
        headers = {"Content-Type": content_type, "Content-Length": str(size)}
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        started = time.perf_counter()
        try:
            with _OPENER.open(req, timeout=timeout_s) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
    return Answer(status, text, "", time.perf_counter() - started)


def count_results(answer: Answer) -> int:
    """Rows of a SELECT, 1/0 for an ASK, distinct triples of a CONSTRUCT/DESCRIBE.

    Raises:
        ValueError: the answer is not a 2xx SPARQL result.
    """
    if not 200 <= answer.status < 300:
        snippet = answer.body[:300].decode("utf-8", "replace")
        raise ValueError(f"HTTP {answer.status}: {snippet}")
    if "json" in answer.content_type:
        document = json.loads(answer.body)
        if "boolean" in document:
            return int(bool(document["boolean"]))
        return len(document["results"]["bindings"])
    if "n-triples" in answer.content_type or "text/plain" in answer.content_type:
        lines = answer.body.decode("utf-8").splitlines()
        return len({line for line in lines if line.strip() and not line.startswith("#")})
    return _parsed_triples(answer)


def _parsed_triples(answer: Answer) -> int:
    """Triples of a graph sent in another syntax than asked for (rdflib-endpoint answers
    DESCRIBE in RDF/XML whatever the Accept header says): parse it rather than guess."""
    from rdflib import Graph

    fmt = "xml" if "xml" in answer.content_type else "turtle"
    return len(Graph().parse(data=answer.body, format=fmt))
