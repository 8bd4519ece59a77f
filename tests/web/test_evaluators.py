"""Evaluator processes: a deadline that frees the CPU, heavy queries lowered, memory capped.

Each test builds its own engine over the fixture release (so its evaluators are its own), reads
/proc to see what the processes do, and closes the engine: nothing outlives a test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from proc_support import children, descendants, is_idle_priority, wait_idle

from migration_kg.core.errors import QueryAborted, QueryTimeout
from migration_kg.core.formats import ResultFormat
from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# 62 quads to the fourth power: never ends within any timeout used here.
NEVER = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
LOOKUP = "SELECT ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } LIMIT 1"
# Sorting 238,328 rows of nine terms: a few hundred MB, more than the 48 MB allowed below.
HUNGRY = "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i"


@pytest.fixture()
def engine(release_dir: Path) -> Iterator[QueryEngine]:
    settings = Settings(
        dist_dir=release_dir,
        query_timeout_s=1.0,
        evaluators=1,
        heavy_after_s=0.05,  # a runaway leaves the single quick evaluator within 0.2 s
        max_query_mb=48,
    )
    engine = QueryEngine.from_release(settings)
    engine.start()
    yield engine
    zygote = _zygote(engine)
    engine.close()
    assert not Path(f"/proc/{zygote}").exists(), "the zygote outlived close()"


def _zygote(engine: QueryEngine) -> int:
    pool = engine._pool  # white-box: the test must know which processes are this engine's
    assert pool is not None and pool._zygote is not None
    return pool._zygote[0]


def _answer(engine: QueryEngine, text: str, timeout: float | None = None) -> bytes:
    return asyncio.run(_answer_async(engine, text, timeout))


async def _answer_async(engine: QueryEngine, text: str, timeout: float | None = None) -> bytes:
    choose = lambda offered: ResultFormat.JSON  # noqa: E731
    answer = await engine.answer_async(text, choose, timeout_s=timeout)
    return answer.body


def test_runaway_queries_stop_at_the_deadline_and_free_the_cpu(engine: QueryEngine) -> None:
    async def scenario() -> tuple[list[float], int]:
        async def runaway() -> float:
            started = time.monotonic()
            with pytest.raises(QueryTimeout, match="exceeded the 1 s timeout"):
                await _answer_async(engine, NEVER)
            return time.monotonic() - started

        heavy = [asyncio.ensure_future(runaway()) for _ in range(3)]
        answered = 0
        while not all(task.done() for task in heavy):
            # Generous: what counts is that it is answered (a saturated test machine is slow).
            assert b"bindings" in await _answer_async(engine, LOOKUP, timeout=20)
            answered += 1
            await asyncio.sleep(0.02)
        return await asyncio.gather(*heavy), answered

    durations, lookups = asyncio.run(scenario())
    assert all(d < 1.0 + 1.0 for d in durations), durations
    assert lookups >= 1  # lookups went on meanwhile (each succeeded: _answer_async raises)
    assert wait_idle(_zygote(engine), within=2.0) < 2.0
    assert engine.stats()["killed_deadline"] == 3


def test_a_heavy_query_runs_at_idle_priority_and_its_slot_is_refilled(
    engine: QueryEngine,
) -> None:
    async def scenario() -> list[int]:
        task = asyncio.ensure_future(_answer_async(engine, NEVER, timeout=10))
        lowered: list[int] = []
        for _ in range(50):  # idle once it used heavy_after_s of CPU: soon, unless the machine
            await asyncio.sleep(0.1)  # is saturated by others
            lowered = [p for p in descendants(_zygote(engine)) if is_idle_priority(p)]
            if lowered:
                break
        assert b"bindings" in await _answer_async(engine, LOOKUP)  # a fresh quick evaluator
        task.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await task
        return lowered

    lowered = asyncio.run(scenario())
    assert len(lowered) == 1
    time.sleep(0.2)
    assert not Path(f"/proc/{lowered[0]}").exists(), "a cancelled evaluation kept running"
    stats = engine.stats()
    assert stats["lowered"] >= 1 and stats["killed_gone"] == 1


def test_a_query_over_its_memory_limit_is_stopped(engine: QueryEngine) -> None:
    with pytest.raises(QueryAborted, match="48 MB memory limit"):
        _answer(engine, HUNGRY, timeout=20)
    assert engine.stats()["killed_memory"] == 1
    assert b"bindings" in _answer(engine, LOOKUP)


def test_an_evaluator_killed_while_idle_is_replaced_unnoticed(engine: QueryEngine) -> None:
    quick = children(_zygote(engine))
    assert len(quick) == 1
    os.kill(quick.pop(), signal.SIGKILL)
    time.sleep(0.1)
    assert b"bindings" in _answer(engine, LOOKUP)
    assert engine.stats()["died"] == 1


def test_a_stop_sent_to_the_whole_group_leaves_evaluation_to_the_worker(
    engine: QueryEngine,
) -> None:
    """systemd and ``kill -TERM -PGID`` signal every process: draining needs the evaluators."""
    zygote = _zygote(engine)
    evaluators = children(zygote)
    for pid in (zygote, *evaluators):
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGHUP)
        os.kill(pid, signal.SIGINT)
    time.sleep(0.1)
    assert children(zygote) == evaluators
    assert b"bindings" in _answer(engine, LOOKUP)
    assert engine.stats()["died"] == 0


def test_evaluation_errors_come_back_as_the_engines_errors(engine: QueryEngine) -> None:
    from migration_kg.core.errors import NotAcceptable, QuerySyntaxError

    with pytest.raises(QuerySyntaxError) as info:
        _answer(engine, "SELECT ?x WHERE {\n ?x ?y")
    assert (info.value.line, info.value.column) == (2, 7)  # the position survives the pipe
    with pytest.raises(NotAcceptable, match="RDF graphs") as refused:
        _answer(engine, "CONSTRUCT WHERE { ?s ?p ?o }")  # asked for JSON results
    assert "text/turtle" in refused.value.offered
