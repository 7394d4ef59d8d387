"""Worker handlers of the analytics domain (imported by the worker's autodiscovery)."""

from __future__ import annotations

from typing import Any

from web.analytics.services import error_capture, events_process_batch
from worker.context import BatchContext
from worker.registry import batch_handler


@batch_handler("analytics.event")
def analytics_event_batch(payloads: list[dict[str, Any]], ctx: BatchContext) -> None:
    """One transaction per fetched batch; job ids are the dedupe keys (redelivery-safe).

    Any exception fails the whole batch, which is then redelivered: nothing was written.
    The exception is also recorded as an issue, since the worker runtime does not log it.
    """
    try:
        events_process_batch(payloads=payloads, job_ids=ctx.job_ids)
    except Exception as exc:
        error_capture(exc=exc, where="worker analytics.event")
        raise
