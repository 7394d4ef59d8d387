"""Stream and consumer definitions, applied idempotently by every process that needs them.

JOBS: WorkQueue retention (a message is gone once acked), file storage, subjects jobs.>,
and a Nats-Msg-Id dedupe window. One durable pull consumer per family on jobs.<family>.>.
JOBS_ADVISORIES keeps the server's MAX_DELIVERIES advisories so that a job whose last
delivery was never settled (worker died) still reaches the dead-letter store.
"""

from __future__ import annotations

from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError

from web.messaging.config import (
    ADVISORY_CONSUMER,
    ADVISORY_STREAM,
    CONFIG,
    MAX_DELIVERIES_ADVISORY,
    STREAM,
    SUBJECT_PREFIX,
    Family,
)


def jobs_stream_config() -> api.StreamConfig:
    return api.StreamConfig(
        name=STREAM,
        subjects=[f"{SUBJECT_PREFIX}.>"],
        retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE,
        duplicate_window=CONFIG.duplicate_window_s,
        max_msg_size=1024 * 1024,
        discard=api.DiscardPolicy.OLD,
        num_replicas=1,
    )


def advisory_stream_config() -> api.StreamConfig:
    return api.StreamConfig(
        name=ADVISORY_STREAM,
        subjects=[MAX_DELIVERIES_ADVISORY],
        retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE,
        max_age=7 * 24 * 3600,
        num_replicas=1,
    )


def consumer_config(family: Family) -> api.ConsumerConfig:
    return api.ConsumerConfig(
        durable_name=family.consumer,
        description=f"Hearth worker: {family.name} jobs",
        filter_subject=family.filter_subject,
        ack_policy=api.AckPolicy.EXPLICIT,
        deliver_policy=api.DeliverPolicy.ALL,
        ack_wait=family.ack_wait_s,
        max_deliver=family.max_deliver,
        max_ack_pending=max(family.max_inflight * 2, 100),
        max_waiting=64,
    )


def advisory_consumer_config() -> api.ConsumerConfig:
    return api.ConsumerConfig(
        durable_name=ADVISORY_CONSUMER,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=30,
        max_deliver=-1,
    )


async def _ensure_stream(js: JetStreamContext, config: api.StreamConfig) -> None:
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except BadRequestError:  # created concurrently by another process
            pass
    await js.update_stream(config)


async def ensure_jobs_stream(js: JetStreamContext) -> None:
    await _ensure_stream(js, jobs_stream_config())


async def ensure_all(js: JetStreamContext, families: list[str] | None = None) -> None:
    """Create or update the streams and the consumers (of the given families, default all)."""
    await ensure_jobs_stream(js)
    await _ensure_stream(js, advisory_stream_config())
    for name, family in CONFIG.families.items():
        if families is None or name in families:
            await js.add_consumer(STREAM, consumer_config(family))
    await js.add_consumer(ADVISORY_STREAM, advisory_consumer_config())
