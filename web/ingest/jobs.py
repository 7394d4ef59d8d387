"""Worker side of ingest: unpack ``analytics.events`` packs (see publisher.py, ADR-I4).

Each event of a pack gets the dedupe key ``<job id>:<index>``, so a redelivered pack stores
nothing twice. The events then go through the analytics pipeline exactly like
``analytics.event`` jobs (web/analytics/jobs.py), in chunks of at most CHUNK events per
transaction; if a chunk fails the whole fetched batch is redelivered and the chunks that
had committed are skipped by their keys.
"""

from __future__ import annotations

from typing import Any

from worker.context import BatchContext
from worker.registry import batch_handler

CHUNK = 2000


def unpack(payloads: list[dict[str, Any]], job_ids: list[str]) -> tuple[list[dict], list[str]]:
    """Flatten packs into (events, dedupe keys); a malformed pack raises ValueError(index)."""
    events: list[dict] = []
    keys: list[str] = []
    for index, (job_id, payload) in enumerate(zip(job_ids, payloads, strict=True)):
        items = payload.get("events")
        if not isinstance(items, list) or not all(isinstance(e, dict) for e in items):
            raise ValueError(index)
        events.extend(items)
        keys.extend(f"{job_id}:{i}" for i in range(len(items)))
    return events, keys


@batch_handler("analytics.events")
def analytics_events_batch(payloads: list[dict[str, Any]], ctx: BatchContext) -> None:
    from web.analytics.services import error_capture, events_process_batch

    try:
        events, keys = unpack(payloads, ctx.job_ids)
    except ValueError as exc:
        bad = exc.args[0]
        ctx.permanent(bad, "analytics.events payload has no 'events' list of objects")
        good = [i for i in range(len(payloads)) if i != bad]
        events, keys = unpack([payloads[i] for i in good], [ctx.job_ids[i] for i in good])
    try:
        for start in range(0, len(events), CHUNK):
            events_process_batch(
                payloads=events[start : start + CHUNK], job_ids=keys[start : start + CHUNK]
            )
    except Exception as exc:
        error_capture(exc=exc, where="worker analytics.events")
        raise
