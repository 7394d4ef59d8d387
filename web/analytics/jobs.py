"""Worker handlers of the analytics domain (imported by the worker's autodiscovery)."""

from __future__ import annotations

from typing import Any

from web.analytics.services import events_process_batch
from worker.context import BatchContext
from worker.registry import batch_handler


@batch_handler("analytics.event")
def analytics_event_batch(payloads: list[dict[str, Any]], ctx: BatchContext) -> None:
    """One transaction per fetched batch; job ids are the dedupe keys (redelivery-safe).
    Any exception fails the whole batch, which is then redelivered: nothing was written."""
    events_process_batch(payloads=payloads, job_ids=ctx.job_ids)
