"""The client IP: the socket peer, or X-Forwarded-For only behind a configured trusted proxy."""

from __future__ import annotations

import ipaddress
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


@lru_cache(maxsize=4096)
def _trusted(ip: str, trusted: tuple[Network, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in trusted)


def client_ip(peer: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The address of whoever talked to the first proxy we trust.

    Without trusted proxies the socket peer is the answer and headers are ignored (anyone
    can write X-Forwarded-For). Behind trusted proxies, walk X-Forwarded-For from the right
    and return the first hop that is not itself a trusted proxy.
    """
    if not trusted or not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # garbage in the header: do not believe any of it
        if not _trusted(hop, trusted):
            return hop
    return hops[0] or peer
