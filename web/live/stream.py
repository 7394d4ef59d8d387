"""The EVENTS stream: numbers live events so that every web process agrees on their ids.

Publishers still do plain core-NATS publishes on ``events.>`` (nothing waits for a PubAck); the
server captures them into this memory stream, whose sequence becomes the SSE event id (ADR-9).
A memory stream vanishes when nats-server restarts, so it is recreated with ``first_seq`` set
to the current Unix time in microseconds: ids keep rising across restarts as long as fewer than
a million events a second were published, and no client can resume across the restart by
mistake (the gap resets it).
"""

from __future__ import annotations

import contextlib
import time

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

STREAM = "EVENTS"
SUBJECTS = ["events.>"]
# The stream only has to outlive a web process's NATS reconnect, so that the ordered consumer
# can resume without a gap; replay to browsers comes from each process's in-memory rings.
MAX_AGE_S = 120.0
DUPLICATE_WINDOW_S = 30.0
MAX_BYTES = 64 * 1024 * 1024


def stream_config(*, per_subject: int, first_seq: int | None = None) -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        description="Hearth live events (pub/sub); sequence = SSE event id",
        subjects=SUBJECTS,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.MEMORY,
        discard=DiscardPolicy.OLD,
        max_age=MAX_AGE_S,
        max_bytes=MAX_BYTES,
        max_msgs_per_subject=per_subject,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=1,
        first_seq=first_seq,
    )


async def ensure_stream(js: JetStreamContext, *, per_subject: int) -> int:
    """Create the stream if it is missing, or apply changed limits (idempotent, race-safe);
    return its last sequence."""
    try:
        info = await js.stream_info(STREAM)
    except NotFoundError:
        info = None
    if info is not None:
        want = stream_config(per_subject=per_subject)
        have = info.config
        if (have.max_age, have.max_bytes, have.max_msgs_per_subject, have.duplicate_window) != (
            want.max_age,
            want.max_bytes,
            want.max_msgs_per_subject,
            want.duplicate_window,
        ):
            # Limits changed in code: apply them (first_seq only matters at creation).
            want.first_seq = have.first_seq
            with contextlib.suppress(BadRequestError):
                await js.update_stream(want)
        return info.state.last_seq
    first_seq = int(time.time() * 1_000_000)
    # BadRequest: the other web process created it a moment ago, with its own first_seq.
    with contextlib.suppress(BadRequestError):
        await js.add_stream(stream_config(per_subject=per_subject, first_seq=first_seq))
    info = await js.stream_info(STREAM)
    return info.state.last_seq
