"""Collect messages from real core NATS subjects in a background thread, so a sync test
keeps its Django test transaction on the main thread while it waits for what was sent;
clear the analytics jobs other tests left in the session's JOBS stream."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import nats

from web.core.testing import wait_until


class Collector:
    """Subscribes to ``subjects`` on ``url``; ``received`` holds (subject, JSON payload) in
    arrival order. Use it as a context manager, or call start() and close()."""

    def __init__(self, url: str, *subjects: str) -> None:
        self.url, self.subjects = url, subjects
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The payloads received so far."""
        return [data for _, data in self.received]

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        nc = await nats.connect(self.url)

        async def on_msg(msg: Any) -> None:
            self.received.append((msg.subject, json.loads(msg.data)))

        for subject in self.subjects:
            await nc.subscribe(subject, cb=on_msg)
        await nc.flush()
        self._ready.set()
        await self._stop.wait()
        await nc.close()

    def start(self) -> Collector:
        """Subscribe; returns once the server has the subscriptions."""
        self._thread.start()
        assert self._ready.wait(10), "could not subscribe to NATS"
        return self

    def close(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_for(self, n: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        """The payloads so far, once there are at least ``n``."""
        wait_until(lambda: len(self.received) >= n, timeout=timeout, interval=0.01,
                   message=f"{n} messages on {', '.join(self.subjects)}")  # fmt: skip
        return self.messages


def purge_analytics_jobs(url: str) -> None:
    """Drop the analytics jobs in the JOBS stream on ``url`` (none if there is no stream yet).

    The session's nats-server is shared: analytics jobs earlier tests left in the stream
    would land in a test's own data dir and skew its exact counts. Runs in a thread, since
    Playwright's sync API may hold an event loop on the caller's.
    """
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _purge_analytics_jobs(url)).result()


async def _purge_analytics_jobs(url: str) -> None:
    from nats.js.errors import NotFoundError

    nc = await nats.connect(url)
    try:
        await nc.jetstream().purge_stream("JOBS", subject="jobs.analytics.>")
    except NotFoundError:
        pass  # no stream yet: nothing to purge
    finally:
        await nc.close()
