"""Coalesce concurrent beacons into packed publishes (group commit, see ADR-10 and ADR-13).

Each request hands its events to ``Coalescer.submit`` and waits. While fewer than
``max_inflight`` publishes are running, a batch leaves after at most ``linger_s`` (at once
when ``linger_s`` is 0 or ``linger_events`` are waiting); requests that arrive meanwhile, or
while a publish runs, leave together in the next batch. The stack uses one publish at a time
and a 3 ms linger (web/ingest/asgi.py): packs several times larger, so fewer fsyncs.

Every batch, even of one event, is packed into ``analytics.events`` jobs of up
to PACK_MAX_EVENTS events each (fewer when a pack would exceed the 64 KiB envelope),
because JetStream runs with ``sync_interval: always`` and fsyncs every message: one message
per beacon caps the box at about 2-4k beacons/s (see ADR-13 in docs/architecture/ingest.md).
The worker unpacks packs in web/analytics/jobs.py.

A request returns only after the message holding its events was PubAck'ed by JetStream or
written to the outbox by ``enqueue_many_async``, so a 202 is never a lie. While NATS's
circuit breaker is open (web/messaging/breaker.py) batches go to the outbox, so they leave
at once instead of queueing behind a publish that still waits on a hung server.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

Job = tuple[str, dict[str, Any], str | None]
PublishMany = Callable[[list[Job]], Awaitable[None]]

PACK_JOB = "analytics.events"
PACK_VERSION = 1
PACK_MAX_EVENTS = 100  # ~35 KB of typical events; the envelope allows 64 KiB
BYPASS_CHECK_S = 0.05  # while requests queue behind a publish, how often to ask bypass()


async def _default_publish(jobs: list[Job]) -> None:
    from web.messaging.jobs import enqueue_many_async

    await enqueue_many_async(jobs)


def _default_bypass() -> bool:
    """NATS is known unhealthy (breaker open): batches go to the outbox, so they need not
    queue behind a publish that is still waiting on the hung server."""
    from django.conf import settings

    from web.messaging.client import breaker_open

    return breaker_open(settings.ENV.nats_url)


def pack(events: list[dict[str, Any]], per_pack: int = PACK_MAX_EVENTS) -> list[Job]:
    """analytics.events packs of at most ``per_pack`` events (sizes are not measured here:
    see publish_packed). A lone event is a pack of one too: the worker runs each job type
    in its own transactions, and singles mixed into a backlog of packs cost a transaction
    of a few events per fetch (2.7% of the batch thread in a drain)."""
    return [
        (PACK_JOB, {"v": PACK_VERSION, "events": events[i : i + per_pack]}, None)
        for i in range(0, len(events), per_pack)
    ]


async def publish_packed(publish: PublishMany, events: list[dict[str, Any]]) -> None:
    """Publish events in packs; if a pack is over the envelope's size limit, halve the pack
    size and retry (enqueue validates every job before sending any, so nothing doubled).

    An event is at most ~30 KB of JSON (8 KiB body, escaped), so one always fits 64 KiB.
    """
    from web.messaging.envelope import InvalidJob

    per_pack = PACK_MAX_EVENTS
    while True:
        try:
            await publish(pack(events, per_pack))
            return
        except InvalidJob:
            if per_pack == 1:
                raise
            per_pack = max(1, per_pack // 2)


class Coalescer:
    """Batch events from concurrent callers; at most ``max_inflight`` publishes at a time,
    each waiting up to ``linger_s`` for ``linger_events`` events before it starts."""

    def __init__(
        self,
        publish: PublishMany = _default_publish,
        *,
        max_inflight: int = 2,
        max_batch: int = 2000,
        linger_s: float = 0.0,
        linger_events: int = PACK_MAX_EVENTS,
        bypass: Callable[[], bool] = _default_bypass,
    ) -> None:
        self.publish = publish
        self.bypass = bypass  # True: launch now, even past max_inflight (breaker open)
        self.max_inflight = max_inflight
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.linger_events = linger_events
        self.pending: deque[tuple[list[dict[str, Any]], asyncio.Future[None]]] = deque()
        self.pending_events = 0
        self.inflight = 0
        self.batches = 0  # published batches (for tests and the benchmark)
        self.published = 0  # events in those batches
        self._timer: asyncio.TimerHandle | None = None
        self._bypass_timer: asyncio.TimerHandle | None = None

    async def submit(self, events: list[dict[str, Any]]) -> None:
        """Publish ``events`` in some batch; raise what publishing that batch raised."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((events, fut))
        self.pending_events += len(events)
        if self.inflight < self.max_inflight:
            if self.linger_s <= 0 or self.pending_events >= self.linger_events:
                self._launch()
            elif self._timer is None:
                # Linger: wait a moment for more events, so packs (and fsyncs) are fewer.
                self._timer = asyncio.get_running_loop().call_later(
                    self.linger_s, self._linger_over
                )
        elif self.bypass():
            self._launch()
        elif self._bypass_timer is None:
            # Queued behind a running publish: if that one hangs, the breaker opens while it
            # waits, and these need not wait with it.
            self._bypass_timer = asyncio.get_running_loop().call_later(
                BYPASS_CHECK_S, self._check_bypass
            )
        await fut

    def _check_bypass(self) -> None:
        self._bypass_timer = None
        if not self.pending or self.inflight < self.max_inflight:
            return
        if self.bypass():
            while self.pending:
                self._launch()
        else:
            self._bypass_timer = asyncio.get_running_loop().call_later(
                BYPASS_CHECK_S, self._check_bypass
            )

    def _linger_over(self) -> None:
        self._timer = None
        while self.pending and self.inflight < self.max_inflight:
            self._launch()

    def _launch(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        take: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = []
        count = 0
        while self.pending and (not take or count + len(self.pending[0][0]) <= self.max_batch):
            events, fut = self.pending.popleft()
            take.append((events, fut))
            count += len(events)
        self.pending_events -= count
        self.published += count
        self.inflight += 1
        asyncio.get_running_loop().create_task(self._flush(take))

    async def _flush(self, take: list[tuple[list[dict[str, Any]], asyncio.Future[None]]]) -> None:
        try:
            await publish_packed(self.publish, [e for events, _ in take for e in events])
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
