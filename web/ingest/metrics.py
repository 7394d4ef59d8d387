"""Prometheus counters of the request path (per process; see docs/architecture/ingest.md)."""

from __future__ import annotations

from prometheus_client import Counter

ACCEPTED = Counter(
    "hearth_ingest_accepted", "Beacons validated and published to JetStream", ["src"]
)
DROPPED = Counter(
    "hearth_ingest_dropped",
    "Beacons answered 202 but not published (bot, hostname, spam, rate, unsupported)",
    ["reason"],
)
REJECTED = Counter("hearth_ingest_rejected", "Requests answered with a 4xx (bad input)", ["status"])
PUBLISH_FAILED = Counter(
    "hearth_ingest_publish_failed", "Requests answered 503 because publishing raised"
)

DROP_REASONS = ("bot", "hostname", "spam", "rate", "unsupported")
SOURCES = ("hearth", "plausible", "umami", "goatcounter", "pixel", "csp", "reporting")


_accepted = {src: ACCEPTED.labels(src) for src in SOURCES}
_dropped = {reason: DROPPED.labels(reason) for reason in DROP_REASONS}


def accepted(src: str, n: int) -> None:
    """Count n accepted events (label children are bound once: this is per request)."""
    (_accepted.get(src) or ACCEPTED.labels(src)).inc(n)


def dropped(reason: str, n: int) -> None:
    (_dropped.get(reason) or DROPPED.labels(reason)).inc(n)
