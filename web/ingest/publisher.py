"""Coalesce concurrent beacons into small publish batches (group commit, see ADR-I1).

Each request hands its events to ``Coalescer.submit`` and waits. While fewer than
``max_inflight`` batches are being published, a batch leaves at once (no added latency when
idle); under load, requests that arrive while batches are in flight queue up and leave
together in the next one. A request returns only after its batch was PubAck'ed by JetStream
or written to the outbox by ``enqueue_many_async``, so a 202 is never a lie.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

Job = tuple[str, dict[str, Any], str | None]
PublishMany = Callable[[list[Job]], Awaitable[None]]


async def _default_publish(jobs: list[Job]) -> None:
    from web.messaging.jobs import enqueue_many_async

    await enqueue_many_async(jobs)


class Coalescer:
    """Batch jobs from concurrent callers; at most ``max_inflight`` batches at a time."""

    def __init__(
        self,
        publish: PublishMany = _default_publish,
        *,
        max_inflight: int = 4,
        max_batch: int = 500,
    ) -> None:
        self.publish = publish
        self.max_inflight = max_inflight
        self.max_batch = max_batch
        self.pending: deque[tuple[list[Job], asyncio.Future[None]]] = deque()
        self.pending_jobs = 0
        self.inflight = 0
        self.batches = 0  # published batches (for tests and the benchmark)

    async def submit(self, jobs: list[Job]) -> None:
        """Publish ``jobs`` in some batch; raise what publishing that batch raised."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((jobs, fut))
        self.pending_jobs += len(jobs)
        if self.inflight < self.max_inflight:
            self._launch()
        await fut

    def _launch(self) -> None:
        take: list[tuple[list[Job], asyncio.Future[None]]] = []
        count = 0
        while self.pending and (not take or count + len(self.pending[0][0]) <= self.max_batch):
            jobs, fut = self.pending.popleft()
            take.append((jobs, fut))
            count += len(jobs)
        self.pending_jobs -= count
        self.inflight += 1
        asyncio.get_running_loop().create_task(self._flush(take))

    async def _flush(self, take: list[tuple[list[Job], asyncio.Future[None]]]) -> None:
        batch = [job for jobs, _ in take for job in jobs]
        try:
            await self.publish(batch)
        except BaseException as exc:
            for _, fut in take:
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
        else:
            for _, fut in take:
                if not fut.done():
                    fut.set_result(None)
        finally:
            self.batches += 1
            self.inflight -= 1
            while self.pending and self.inflight < self.max_inflight:
                self._launch()
