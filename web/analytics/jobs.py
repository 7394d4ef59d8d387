"""Worker handlers of the analytics domain (imported by the worker's autodiscovery).

``analytics.event`` carries one event. ``analytics.events`` carries a pack of events
published by ingest (web/ingest/publisher.py, ADR-13): a pack is one dedupe unit keyed by
its job id (its events are stored as ``<job id>:<index>``), so a redelivered pack stores
nothing twice. Packs go through the same pipeline as single events, in chunks of whole
packs, at most CHUNK events per transaction; if a chunk fails the whole fetched batch is
redelivered and the packs of the chunks that had committed are skipped by their keys.
"""

from __future__ import annotations

from typing import Any

from web.analytics.services import error_capture, events_process_batch
from web.messaging.handlers import BatchContext, batch_handler

CHUNK = 2000


Chunk = tuple[list[dict], list[str], list[int]]  # (events, pack job ids, pack sizes)


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


def unpack(payloads: list[dict[str, Any]], job_ids: list[str], chunk: int = CHUNK) -> list[Chunk]:
    """Packs in chunks of whole packs, each of at most `chunk` events (or one bigger pack);
    a malformed pack raises ValueError(index)."""
    chunks: list[Chunk] = []
    events: list[dict] = []
    keys: list[str] = []
    sizes: list[int] = []
    for index, (job_id, payload) in enumerate(zip(job_ids, payloads, strict=True)):
        items = payload.get("events")
        if not isinstance(items, list) or not all(isinstance(e, dict) for e in items):
            raise ValueError(index)
        if events and len(events) + len(items) > chunk:
            chunks.append((events, keys, sizes))
            events, keys, sizes = [], [], []
        events += items
        keys.append(job_id)
        sizes.append(len(items))
    if keys:
        chunks.append((events, keys, sizes))
    return chunks


@batch_handler("analytics.events")
def analytics_events_batch(payloads: list[dict[str, Any]], ctx: BatchContext) -> None:
    """Unpack the packs of one fetched batch; a malformed pack is dead-lettered alone."""
    try:
        chunks = unpack(payloads, ctx.job_ids, CHUNK)
    except ValueError as exc:
        bad = exc.args[0]
        ctx.permanent(bad, "analytics.events payload has no 'events' list of objects")
        good = [i for i in range(len(payloads)) if i != bad]
        chunks = unpack([payloads[i] for i in good], [ctx.job_ids[i] for i in good], CHUNK)
    try:
        for events, keys, sizes in chunks:
            events_process_batch(payloads=events, job_ids=keys, pack_sizes=sizes)
    except Exception as exc:
        error_capture(exc=exc, where="worker analytics.events")
        raise
