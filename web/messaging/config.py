"""Job families and queue tunables: the single definition the stream, consumers and worker share.

Defaults are production values. A few HEARTH_JOBS_* variables (parsed in web/env.py) override
them for every family at once; tests use them to make redelivery and backoff take seconds
instead of minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from web.env import load as load_env

STREAM = "JOBS"
SUBJECT_PREFIX = "jobs"
ADVISORY_STREAM = "JOBS_ADVISORIES"
ADVISORY_CONSUMER = "deadletters"
# Published by the server when a message reaches max_deliver without being settled.
MAX_DELIVERIES_ADVISORY = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{STREAM}.*"


@dataclass(frozen=True, kw_only=True)
class Family:
    """One job family: one durable pull consumer on jobs.<name>.> and its worker limits.

    ack_wait sits above the family's p99 job time; the worker also sends in-progress
    heartbeats while a handler runs (for at most max_runtime_s), so ack_wait only expires
    when a worker died. backoff_s is the NAK delay after the n-th failed delivery.
    Keyword arguments only: seven numbers in a row are easy to swap unnoticed.
    """

    name: str
    ack_wait_s: float
    max_deliver: int
    backoff_s: tuple[float, ...]
    batch: int  # most messages per fetch
    max_inflight: int  # most unacked messages this worker holds for the family
    max_runtime_s: float  # stop heartbeating after this; the server then redelivers
    threads: int  # handler threads (a batch handler call takes one)
    # Batch handlers: a batch smaller than `batch` waits until its oldest job is this old,
    # so that under steady load a handler call (one transaction) carries many jobs.
    batch_linger_s: float = 0.0

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
        # Batches of up to 500 messages, one DB transaction per 2000 events (web/analytics/
        # jobs.py); a batch takes well under 5 s. Up to 1000 messages held, so the next batch
        # is fetched while one commits. A small batch lingers 250 ms: a transaction has a
        # fixed cost of ~1 ms (at 10 events a batch, 3x the CPU per event), and rewrites
        # every page it touches into the WAL that Litestream ships (8 KB per event at 250
        # events a commit, 3.5 KB at 2000: measured in docs/architecture/ingest.md).
        # One batch thread: a batch holds SQLite's write lock (and the pipeline's lock)
        # throughout, so a second one only waited, and it took later messages first: in
        # 4 paired benchmark runs the drain rate was the same, and engagement events dropped
        # for arriving before their session's pageview fell from 329-460 to 59-80 a run.
        Family(
            name="analytics",
            ack_wait_s=30,
            max_deliver=5,
            backoff_s=(1, 5, 30, 120),
            batch=500,
            max_inflight=1000,
            max_runtime_s=120,
            threads=1,
            batch_linger_s=0.25,
        ),
        # CPU-bound thumbnails: two at a time on a 2-core box; a big image takes seconds.
        # 8 deliveries: the S3 retry delays (web/media/jobs.py, 5 s doubling to 300 s)
        # then ride out a ~10-minute S3 outage before a job becomes a (replayable) dead
        # letter; with 4, a purge was dead-lettered after ~35 s of outage.
        Family(
            name="images",
            ack_wait_s=120,
            max_deliver=8,
            backoff_s=(5, 30, 120, 300),
            batch=2,
            max_inflight=2,
            max_runtime_s=600,
            threads=2,
        ),
        # Mail and webhooks: slow remote peers, many at once.
        Family(
            name="notify",
            ack_wait_s=60,
            max_deliver=6,
            backoff_s=(2, 10, 60, 300, 900),
            batch=20,
            max_inflight=16,
            max_runtime_s=120,
            threads=8,
        ),
        # Cleanups and rollups from cron: one at a time.
        Family(
            name="maintenance",
            ack_wait_s=600,
            max_deliver=3,
            backoff_s=(30, 300),
            batch=1,
            max_inflight=1,
            max_runtime_s=3600,
            threads=1,
        ),
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


def load() -> QueueConfig:
    """Defaults plus the HEARTH_JOBS_* overrides parsed in web/env.py."""
    env = load_env()
    families = dict(DEFAULT_FAMILIES)
    for name, fam in families.items():
        if env.jobs_ack_wait_s is not None:
            fam = replace(fam, ack_wait_s=env.jobs_ack_wait_s)
        if env.jobs_max_deliver is not None:
            fam = replace(fam, max_deliver=env.jobs_max_deliver)
        if env.jobs_backoff_s is not None:
            fam = replace(fam, backoff_s=env.jobs_backoff_s)
        families[name] = fam
    return QueueConfig(
        families=families,
        duplicate_window_s=env.jobs_duplicate_window_s,
        puback_timeout_s=env.jobs_puback_timeout_s,
        pipeline_stall_s=env.jobs_pipeline_stall_s,
        relay_interval_s=env.jobs_relay_interval_s,
        drain_s=env.worker_drain_s,
    )


CONFIG = load()
