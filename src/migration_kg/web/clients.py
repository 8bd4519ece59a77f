"""Who is asking: the client identity that fair sharing counts requests against.

The client is the socket peer's address, unless the peer is a proxy the operator trusts
(``--trusted-proxy``, addresses or CIDR networks): then it is the first untrusted hop of the
``Forwarded`` header (RFC 7239), or of ``X-Forwarded-For`` when there is no ``Forwarded``,
read from the nearest hop backwards. Headers from untrusted peers are ignored, so nobody can
pose as someone else by sending them. A hop that is not an address (``unknown``, an obfuscated
``_name``, garbage) is still an identity: it is where the trusted chain stops.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from starlette.types import Scope

from migration_kg.core.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)', re.IGNORECASE)
_MAX_IDENTITY = 64
_CACHE_LIMIT = 4096


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``--trusted-proxy`` values as networks (a bare address is a /32 or /128).

    Raises:
        ConfigError: naming the value that is neither an address nor a CIDR network.
    """
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            message = f"trusted proxy {value!r} is not an address or network: {exc}"
            raise ConfigError(message) from exc
    return tuple(networks)


class ClientResolver:
    """Maps a request to its client identity (a string), given the trusted proxies."""

    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self.trusted = trusted
        self._verdicts: dict[str, bool] = {}

    def resolve(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        if not self.trusted or not self.is_trusted(peer):
            return peer
        hops = _hops(scope.get("headers", ()))
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop[:_MAX_IDENTITY]
        return hops[0][:_MAX_IDENTITY] if hops else peer

    def is_trusted(self, address: str) -> bool:
        """Whether ``address`` lies in a trusted network (answers are cached, bounded)."""
        verdict = self._verdicts.get(address)
        if verdict is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                verdict = False
            else:
                verdict = any(ip in network for network in self.trusted)
            if len(self._verdicts) >= _CACHE_LIMIT:
                self._verdicts.clear()
            self._verdicts[address] = verdict
        return verdict


def _hops(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """The forwarding chain, client first: ``Forwarded`` if present, else X-Forwarded-For."""
    forwarded: list[str] = []
    x_forwarded: list[str] = []
    for name, value in headers:
        if name == b"forwarded":
            forwarded += _forwarded_for(value.decode("latin-1"))
        elif name == b"x-forwarded-for":
            x_forwarded += [_address(p) for p in value.decode("latin-1").split(",") if p.strip()]
    return forwarded or x_forwarded


def _forwarded_for(value: str) -> list[str]:
    hops = []
    for element in value.split(","):
        found = _FOR.search(element)
        if found:
            hops.append(_address(found.group(1).strip('"')))
    return hops


def _address(token: str) -> str:
    """An address without port or brackets (``[2001:db8::1]:443`` → ``2001:db8::1``)."""
    token = token.strip()
    if token.startswith("["):
        return token[1 : token.find("]")] if "]" in token else token
    if token.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        return token.split(":", 1)[0]
    return token
