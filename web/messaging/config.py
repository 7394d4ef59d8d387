"""Job families and queue tunables: the single definition the stream, consumers and worker share.

Defaults are production values. A few HEARTH_JOBS_* variables override them for every family
at once; tests use them to make redelivery and backoff take seconds instead of minutes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from web.env import ConfigError

STREAM = "JOBS"
SUBJECT_PREFIX = "jobs"
ADVISORY_STREAM = "JOBS_ADVISORIES"
ADVISORY_CONSUMER = "deadletters"
# Published by the server when a message reaches max_deliver without being settled.
MAX_DELIVERIES_ADVISORY = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{STREAM}.*"


@dataclass(frozen=True)
class Family:
    """One job family: one durable pull consumer on jobs.<name>.> and its worker limits.

    ack_wait sits above the family's p99 job time; the worker also sends in-progress
    heartbeats while a handler runs (for at most max_runtime_s), so ack_wait only expires
    when a worker died. backoff_s is the NAK delay after the n-th failed delivery.
    """

    name: str
    ack_wait_s: float
    max_deliver: int
    backoff_s: tuple[float, ...]
    batch: int  # most messages per fetch
    max_inflight: int  # most unacked messages this worker holds for the family
    max_runtime_s: float  # stop heartbeating after this; the server then redelivers
    threads: int  # handler threads (a batch handler call takes one)

    @property
    def consumer(self) -> str:
        return f"jobs-{self.name}"

    @property
    def filter_subject(self) -> str:
        return f"{SUBJECT_PREFIX}.{self.name}.>"

    def backoff_for(self, delivered: int) -> float:
        """NAK delay after delivery number `delivered` (1-based) failed."""
        return self.backoff_s[min(max(delivered, 1), len(self.backoff_s)) - 1]


DEFAULT_FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        # Batches of up to 500 events, one DB transaction each; a batch takes well under 5 s.
        # Two batches in flight so the next is fetched while one commits; two threads,
        # because SQLite has one writer anyway.
        Family("analytics", 30, 5, (1, 5, 30, 120), 500, 1000, 120, 2),
        # CPU-bound thumbnails: two at a time on a 2-core box; a big image takes seconds.
        Family("images", 120, 4, (5, 30, 120), 2, 2, 600, 2),
        # Mail and webhooks: slow remote peers, many at once.
        Family("notify", 60, 6, (2, 10, 60, 300, 900), 20, 16, 120, 8),
        # Cleanups and rollups from cron: one at a time.
        Family("maintenance", 600, 3, (30, 300), 1, 1, 3600, 1),
    )
}


@dataclass(frozen=True)
class QueueConfig:
    families: dict[str, Family]
    duplicate_window_s: float  # Nats-Msg-Id dedupe window of the stream
    puback_timeout_s: float  # how long enqueue waits for a PubAck before the outbox
    pipeline_stall_s: float  # pipelined publishes: give up once no PubAck came for this long
    relay_interval_s: float  # how often the worker's outbox relay looks at the outbox
    drain_s: float  # how long SIGTERM waits for in-flight jobs


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _floats(name: str) -> tuple[float, ...] | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        values = tuple(float(p) for p in raw.split(",") if p.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated seconds, got {raw!r}") from exc
    if not values or any(v < 0 for v in values):
        raise ConfigError(f"{name} must list non-negative seconds, got {raw!r}")
    return values


def load() -> QueueConfig:
    """Defaults plus HEARTH_JOBS_* overrides; raise ConfigError naming a bad variable."""
    families = dict(DEFAULT_FAMILIES)
    ack_wait = _float("HEARTH_JOBS_ACK_WAIT_S", 0.0) or None
    max_deliver_raw = os.environ.get("HEARTH_JOBS_MAX_DELIVER", "").strip()
    backoff = _floats("HEARTH_JOBS_BACKOFF_S")
    for name, fam in families.items():
        if ack_wait is not None:
            fam = replace(fam, ack_wait_s=ack_wait)
        if max_deliver_raw:
            if not max_deliver_raw.isdigit() or int(max_deliver_raw) < 1:
                raise ConfigError(
                    "HEARTH_JOBS_MAX_DELIVER must be a positive whole number, "
                    f"got {max_deliver_raw!r}"
                )
            fam = replace(fam, max_deliver=int(max_deliver_raw))
        if backoff is not None:
            fam = replace(fam, backoff_s=backoff)
        families[name] = fam
    return QueueConfig(
        families=families,
        duplicate_window_s=_float("HEARTH_JOBS_DUPLICATE_WINDOW_S", 20 * 60),
        puback_timeout_s=_float("HEARTH_JOBS_PUBACK_TIMEOUT_S", 1.0),
        # Measured: PubAck gaps of 0.2 s idle and over 1 s when the shared disk is busy.
        pipeline_stall_s=_float("HEARTH_JOBS_PIPELINE_STALL_S", 3.0),
        relay_interval_s=_float("HEARTH_JOBS_RELAY_INTERVAL_S", 1.0),
        drain_s=_float("HEARTH_WORKER_DRAIN_S", 12.0),
    )


CONFIG = load()
