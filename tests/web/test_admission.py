"""Fair sharing rules without a server: client identity, per-client limit, lanes, fair queues."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from migration_kg.core.errors import ConfigError, ServerBusy
from migration_kg.core.settings import Settings
from migration_kg.web.admission import Admission, Limits, Ticket, TooManyRequests
from migration_kg.web.clients import ClientResolver, parse_networks


def _scope(peer: str, *headers: tuple[str, str]) -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers]
    return {"type": "http", "client": (peer, 50000), "headers": raw}


def test_client_is_the_peer_unless_a_trusted_proxy_forwards() -> None:
    nobody = ClientResolver(())
    assert nobody.resolve(_scope("10.0.0.5", ("X-Forwarded-For", "1.2.3.4"))) == "10.0.0.5"
    proxy = ClientResolver(parse_networks(["127.0.0.1", "10.0.0.0/8"]))
    # An untrusted peer cannot pose as someone else by sending the header.
    assert proxy.resolve(_scope("192.0.2.9", ("X-Forwarded-For", "1.2.3.4"))) == "192.0.2.9"
    # The first untrusted hop from the nearest one backwards: 10.1.1.1 is a trusted proxy.
    forwarded = ("X-Forwarded-For", "6.6.6.6, 1.2.3.4, 10.1.1.1")
    assert proxy.resolve(_scope("127.0.0.1", forwarded)) == "1.2.3.4"
    assert proxy.resolve(_scope("127.0.0.1")) == "127.0.0.1"


def test_forwarded_header_wins_and_is_parsed_with_ports_and_ipv6() -> None:
    proxy = ClientResolver(parse_networks(["127.0.0.1"]))
    both = (
        ("Forwarded", 'for="[2001:db8::7]:4711";proto=https, for=127.0.0.1'),
        ("X-Forwarded-For", "9.9.9.9"),
    )
    assert proxy.resolve(_scope("127.0.0.1", *both)) == "2001:db8::7"
    assert proxy.resolve(_scope("127.0.0.1", ("Forwarded", "for=192.0.2.60:80"))) == "192.0.2.60"
    assert proxy.resolve(_scope("127.0.0.1", ("Forwarded", "for=_hidden"))) == "_hidden"


def test_trusted_proxy_must_be_an_address_or_network() -> None:
    with pytest.raises(ConfigError, match=r"'proxy\.example'"):
        parse_networks(["proxy.example"])


LIMITS = Limits(quick=1, heavy=1, queue=2, client=2, heavy_after_s=0.25, wait_s=1.0)


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


def test_a_client_over_its_share_gets_429_and_a_full_queue_503() -> None:
    async def scenario() -> None:
        admission = Admission(LIMITS)
        first = await admission.enter("a")
        waiting = [asyncio.ensure_future(admission.enter(c)) for c in ("a", "b")]
        await asyncio.sleep(0)
        with pytest.raises(TooManyRequests):  # "a" has one running and one waiting
            await admission.enter("a")
        with pytest.raises(ServerBusy, match="queue is full"):  # two wait already
            await admission.enter("c")
        admission.leave(first)
        second = await waiting[0]
        admission.leave(second)
        admission.leave(await waiting[1])
        assert admission.depth() == {"quick": (0, 0), "heavy": (0, 0)}

    _run(scenario())


def test_waiting_clients_are_served_in_turn_not_in_arrival_order() -> None:
    async def scenario() -> list[str]:
        admission = Admission(Limits(1, 1, 10, 5, 0.25, 1.0))
        holder = await admission.enter("greedy")
        served: list[str] = []

        async def request(client: str) -> None:
            ticket = await admission.enter(client)
            served.append(client)
            admission.leave(ticket)

        tasks = [asyncio.ensure_future(request(c)) for c in ("greedy", "greedy", "greedy", "b")]
        await asyncio.sleep(0)
        admission.leave(holder)
        await asyncio.gather(*tasks)
        return served

    assert _run(scenario()) == ["greedy", "b", "greedy", "greedy"]


def test_a_heavy_request_frees_its_quick_slot_and_flags_its_client() -> None:
    async def scenario() -> None:
        admission = Admission(LIMITS)
        heavy = await admission.enter("a")
        assert admission.promote(heavy) and heavy.lane == "heavy"
        lookup = await asyncio.wait_for(admission.enter("b"), 0.5)  # the quick slot is free
        assert lookup.lane == "quick"
        admission.leave(lookup)
        # The heavy lane is full: a second heavy request holds no slot and must be stopped.
        other = await admission.enter("b")
        assert not admission.promote(other) and other.lane is None
        admission.leave(other)
        # "a" is flagged: its next request waits for the heavy lane, not a quick slot.
        flagged = asyncio.ensure_future(admission.enter("a"))
        await asyncio.sleep(0.05)
        assert not flagged.done() and admission.depth()["heavy"] == (1, 1)
        admission.leave(heavy)
        quick_finish = await flagged
        assert quick_finish.lane == "heavy"
        admission.leave(quick_finish)  # finished quickly: the flag is cleared
        assert (await admission.enter("a")).lane == "quick"

    _run(scenario())


def test_no_slot_within_the_wait_is_503_with_retry_after() -> None:
    async def scenario() -> None:
        admission = Admission(Limits(1, 1, 4, 4, 0.25, 0.2))
        holder = await admission.enter("a")
        with pytest.raises(ServerBusy, match=r"no slot within 0\.2 s") as info:
            await admission.enter("b")
        assert info.value.retry_after == 1
        admission.leave(holder)
        assert admission.depth()["quick"] == (0, 0)

    _run(scenario())


def test_limits_come_from_the_settings() -> None:
    limits = Limits.from_settings(Settings(max_concurrent=0, client_limit=3), evaluators=2)
    assert (limits.quick, limits.client, limits.heavy) == (4, 3, 8)
    assert isinstance(Ticket("x", "quick").started, float)
