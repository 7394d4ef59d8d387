"""Coalesce concurrent beacons into packed publishes (group commit, see ADR-I1 and ADR-I4).

Each request hands its events to ``Coalescer.submit`` and waits. While fewer than
``max_inflight`` publishes are running, a batch leaves at once (no added latency when idle);
under load, requests that arrive meanwhile queue up and leave together in the next batch.

A batch of one event is published as one ``analytics.event`` job (the contract in
web/analytics/schema.py). A batch of several is packed into ``analytics.events`` jobs of up
to PACK_MAX_EVENTS events / PACK_MAX_BYTES each, because JetStream runs with
``sync_interval: always`` and fsyncs every message: one message per beacon caps the box at
about 2-4k beacons/s, one message per pack does not (measured in docs/architecture/ingest.md).
The worker unpacks packs in web/ingest/jobs.py.

A request returns only after the message holding its events was PubAck'ed by JetStream or
written to the outbox by ``enqueue_many_async``, so a 202 is never a lie.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

Job = tuple[str, dict[str, Any], str | None]
PublishMany = Callable[[list[Job]], Awaitable[None]]

EVENT_JOB = "analytics.event"
PACK_JOB = "analytics.events"
PACK_VERSION = 1
PACK_MAX_EVENTS = 200
PACK_MAX_BYTES = 48 * 1024  # the envelope allows 64 KiB


async def _default_publish(jobs: list[Job]) -> None:
    from web.messaging.jobs import enqueue_many_async

    await enqueue_many_async(jobs)


def _size(event: dict[str, Any]) -> int:
    """An upper bound of the event's JSON size without encoding it: printable ASCII takes at
    most 2 bytes a character (quotes and backslashes are escaped), anything else at most 12
    (a non-BMP character becomes a \\uXXXX surrogate pair)."""
    n = 160
    for value in event.values():
        if isinstance(value, str):
            n += (2 if value.isascii() and value.isprintable() else 12) * len(value) + 4
        elif isinstance(value, dict):
            n += len(json.dumps(value)) + 16
        else:
            n += 24
    return n


def pack(events: list[dict[str, Any]]) -> list[Job]:
    """Jobs for a batch: one analytics.event for a single event, else analytics.events packs."""
    if len(events) == 1:
        return [(EVENT_JOB, events[0], None)]
    jobs: list[Job] = []
    current: list[dict[str, Any]] = []
    size = 0
    for event in events:
        n = _size(event)
        if current and (len(current) >= PACK_MAX_EVENTS or size + n > PACK_MAX_BYTES):
            jobs.append((PACK_JOB, {"v": PACK_VERSION, "events": current}, None))
            current, size = [], 0
        current.append(event)
        size += n
    if current:
        jobs.append((PACK_JOB, {"v": PACK_VERSION, "events": current}, None))
    return jobs


class Coalescer:
    """Batch events from concurrent callers; at most ``max_inflight`` publishes at a time."""

    def __init__(
        self,
        publish: PublishMany = _default_publish,
        *,
        max_inflight: int = 2,
        max_batch: int = 2000,
    ) -> None:
        self.publish = publish
        self.max_inflight = max_inflight
        self.max_batch = max_batch
        self.pending: deque[tuple[list[dict[str, Any]], asyncio.Future[None]]] = deque()
        self.inflight = 0
        self.batches = 0  # published batches (for tests and the benchmark)

    async def submit(self, events: list[dict[str, Any]]) -> None:
        """Publish ``events`` in some batch; raise what publishing that batch raised."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((events, fut))
        if self.inflight < self.max_inflight:
            self._launch()
        await fut

    def _launch(self) -> None:
        take: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = []
        count = 0
        while self.pending and (not take or count + len(self.pending[0][0]) <= self.max_batch):
            events, fut = self.pending.popleft()
            take.append((events, fut))
            count += len(events)
        self.inflight += 1
        asyncio.get_running_loop().create_task(self._flush(take))

    async def _flush(self, take: list[tuple[list[dict[str, Any]], asyncio.Future[None]]]) -> None:
        try:
            await self.publish(pack([e for events, _ in take for e in events]))
        except BaseException as exc:
            err = exc if isinstance(exc, Exception) else RuntimeError(repr(exc))
            for _, fut in take:
                if not fut.done():
                    fut.set_exception(err)
        else:
            for _, fut in take:
                if not fut.done():
                    fut.set_result(None)
        finally:
            self.batches += 1
            self.inflight -= 1
            while self.pending and self.inflight < self.max_inflight:
                self._launch()
