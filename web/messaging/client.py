"""NATS connections for producers: one per process for sync callers, one per event loop for
async callers. Both reconnect forever and never block a caller longer than the PubAck bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from web.messaging.config import CONFIG
from web.messaging.streams import ensure_jobs_stream

log = logging.getLogger("web.messaging")


async def connect(url: str, *, name: str) -> NATS:
    """Connect, retrying forever (max_reconnect_attempts=-1); the default gives up in ~2 min."""

    async def _quiet(_exc: Exception) -> None:  # reconnect noise; state is checked per publish
        return None

    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=1,
        allow_reconnect=True,
        error_cb=_quiet,
    )


class _Link:
    """A connection being established in the background on some event loop."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.up = threading.Event()

    async def run(self) -> None:
        nc = await connect(self.url, name=self.name)
        self.nc, self.js = nc, nc.jetstream()
        with contextlib.suppress(Exception):  # the worker applies it too; this is a courtesy
            await ensure_jobs_stream(self.js)
        self.up.set()

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected


class SyncPublisher:
    """Publishes from any thread through a private event loop on a daemon thread."""

    def __init__(self, url: str) -> None:
        self.pid = os.getpid()
        self.link = _Link(url, f"hearth-producer-{self.pid}")
        self.loop = asyncio.new_event_loop()
        self._first_wait_done = False
        thread = threading.Thread(target=self._main, name="hearth-nats-publisher", daemon=True)
        thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.create_task(self.link.run())
        self.loop.run_forever()

    def _ready(self, timeout: float) -> bool:
        if not self._first_wait_done:
            # A fresh process gets one bound's worth of time to connect, not more.
            self.link.up.wait(timeout)
            self._first_wait_done = True
        return self.link.connected and self.link.js is not None

    def publish(self, subject: str, data: bytes, headers: dict[str, str], timeout: float) -> None:
        """Publish and wait for the PubAck; raise on any failure (the caller outboxes)."""
        if not self._ready(timeout):
            raise ConnectionError("NATS is not connected")
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(
            self.link.js.publish(subject, data, timeout=timeout, headers=headers), self.loop
        )
        try:
            fut.result(timeout + 0.25)
        except FutureTimeout as exc:
            fut.cancel()
            raise TimeoutError(f"no PubAck within {timeout}s") from exc

    def publish_many(
        self, items: list[tuple[str, bytes, dict[str, str]]], timeout: float
    ) -> list[BaseException | None]:
        """Pipelined publish from sync code; one result per item (None = acked)."""
        if not self._ready(timeout):
            return [ConnectionError("NATS is not connected")] * len(items)
        fut = asyncio.run_coroutine_threadsafe(
            publish_pipelined(self.link.js, items, timeout), self.loop
        )
        try:
            return fut.result(timeout + 5 + len(items) / 100)
        except FutureTimeout:
            fut.cancel()
            return [TimeoutError("no PubAck in time")] * len(items)


async def publish_pipelined(
    js: JetStreamContext, items: list[tuple[str, bytes, dict[str, str]]], timeout: float
) -> list[BaseException | None]:
    """Publish all without waiting, then wait for every PubAck (bounded); one result each."""
    results: list[BaseException | None] = [None] * len(items)
    futures: list[asyncio.Future[Any] | None] = []
    for i, (subject, data, headers) in enumerate(items):
        try:
            futures.append(
                await js.publish_async(subject, data, headers=dict(headers), wait_stall=timeout)
            )
        except Exception as exc:
            results[i] = exc
            futures.append(None)
    pending = {f for f in futures if f is not None}
    # Wait as long as PubAcks keep arriving; give up on the rest once none arrived for
    # `timeout` seconds. The server fsyncs each message (sync_interval always), so a large
    # pipeline legitimately takes (count / fsync rate) seconds; only a stall means trouble.
    while pending:
        done, pending = await asyncio.wait(
            pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if not done:
            break
    for i, f in enumerate(futures):
        if f is None:
            continue
        if not f.done():
            f.cancel()
            results[i] = TimeoutError("no PubAck in time")
        elif f.cancelled():
            results[i] = TimeoutError("publish cancelled")
        elif f.exception() is not None:
            results[i] = f.exception()
    return results


_sync: dict[str, SyncPublisher] = {}
_sync_lock = threading.Lock()
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Link]] = (
    weakref.WeakKeyDictionary()
)


def sync_publisher(url: str) -> SyncPublisher:
    """The process's publisher for url (recreated after a fork)."""
    with _sync_lock:
        pub = _sync.get(url)
        if pub is None or pub.pid != os.getpid():
            pub = _sync[url] = SyncPublisher(url)
        return pub


async def async_link(url: str) -> _Link:
    """The running loop's connection for url; waits up to the PubAck bound the first time."""
    loop = asyncio.get_running_loop()
    links = _async.setdefault(loop, {})
    link = links.get(url)
    if link is None:
        link = links[url] = _Link(url, f"hearth-producer-{os.getpid()}")
        task = loop.create_task(link.run())
        link._task = task  # type: ignore[attr-defined]  # keep a strong reference
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), CONFIG.puback_timeout_s)
    return link
