"""The client IP: the socket peer, or X-Forwarded-For only behind a configured trusted proxy."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from functools import lru_cache

from web.env import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """HEARTH_TRUSTED_PROXIES entries as networks; ConfigError names a bad one."""
    out = []
    for raw in cidrs:
        try:
            out.append(ipaddress.ip_network(raw.strip(), strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"HEARTH_TRUSTED_PROXIES: {raw!r} is not an IP address or CIDR"
            ) from exc
    return tuple(out)


@lru_cache(maxsize=64)
def _ranges(trusted: tuple[Network, ...]) -> tuple[tuple[int, int, int], ...]:
    return tuple((n.version, int(n.network_address), int(n.broadcast_address)) for n in trusted)


def _addr(ip: str) -> tuple[int, int] | None:
    """(IP version, address as an integer) of an IP literal, else None.

    socket.inet_pton is several times faster than ipaddress.ip_address, and this runs for
    every hop of every beacon behind a proxy."""
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, ip))
    except (OSError, ValueError):
        pass
    try:
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, ip))
    except (OSError, ValueError):
        return None


def _trusted(addr: tuple[int, int], trusted: tuple[Network, ...]) -> bool:
    version, n = addr
    return any(v == version and lo <= n <= hi for v, lo, hi in _ranges(trusted))


@lru_cache(maxsize=1024)
def _peer_trusted(peer: str, trusted: tuple[Network, ...]) -> bool:
    addr = _addr(peer)  # peers are the few proxies: cached
    return addr is not None and _trusted(addr, trusted)


def client_ip(peer: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The address of whoever talked to the first proxy we trust.

    Without trusted proxies the socket peer is the answer and headers are ignored (anyone
    can write X-Forwarded-For). Behind trusted proxies, walk X-Forwarded-For from the right
    and return the first hop that is not itself a trusted proxy.
    """
    if not trusted or not forwarded_for:
        return peer
    if not _peer_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        addr = _addr(hop)
        if addr is None:
            return peer  # garbage in the header: do not believe any of it
        if not _trusted(addr, trusted):
            return hop
    return hops[0] or peer
