"""Drop rules of the request path: bots, spam referrers and excess rate per IP.

A dropped beacon is answered 202 with a drop marker (so a bot learns nothing and a browser
logs no error), is not published, and is counted by reason in metrics.DROPPED.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import crawleruseragents

from web.ingest.validate import url_host

SPAM_FILE = Path(__file__).parent / "data" / "spam_referrers.txt"


@lru_cache(maxsize=8192)
def is_bot(ua: str) -> bool:
    """True for crawlers and headless browsers (crawler-user-agents, ~1,500 patterns).

    The regex scan costs tens of microseconds; real traffic repeats a few thousand UAs, so
    the cache makes it ~0.4 µs. An empty UA is a script, never a browser.
    """
    if not ua:
        return True
    return crawleruseragents.is_crawler(ua)


def _load_spam() -> frozenset[str]:
    lines = SPAM_FILE.read_text().splitlines()
    return frozenset(ln.strip().lower() for ln in lines if ln.strip() and ln[0] != "#")


SPAM_DOMAINS = _load_spam()


@lru_cache(maxsize=4096)
def is_spam_referrer(ref: str) -> bool:
    """True when the referrer's host is a listed spam domain or a subdomain of one."""
    if not ref:
        return False
    host = url_host(ref)
    while host:
        if host in SPAM_DOMAINS:
            return True
        _, _, host = host.partition(".")
    return False


class RateLimiter:
    """Token bucket per client IP, in this process only (see ADR-12 in docs).

    Each IP may send ``burst`` beacons at once and ``rate`` per second after that. With N web
    workers an IP can reach up to N times the rate, because the kernel spreads connections over
    the workers; that is fine for a flood guard. Memory is bounded: when the table holds
    ``max_ips`` entries, buckets that have refilled completely (idle IPs) are forgotten.
    """

    def __init__(self, *, rate: float, burst: float, max_ips: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_ips = max_ips
        self.buckets: dict[str, list[float]] = {}

    def allow(self, ip: str, cost: float = 1.0, now: float | None = None) -> bool:
        """Take ``cost`` tokens from ip's bucket; False (and nothing taken) when short."""
        now = time.monotonic() if now is None else now
        bucket = self.buckets.get(ip)
        if bucket is None:
            if len(self.buckets) >= self.max_ips:
                self._prune(now)
            bucket = self.buckets[ip] = [self.burst, now]
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens < cost:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - cost
        return True

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate if self.rate else float("inf")
        idle = [ip for ip, (_, last) in self.buckets.items() if now - last >= full_after]
        for ip in idle:
            del self.buckets[ip]
        if len(self.buckets) >= self.max_ips:
            # Still full of active IPs (a spoofed flood): start over rather than grow.
            self.buckets.clear()
