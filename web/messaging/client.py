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
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from web.messaging.breaker import (
    PROBE_INTERVAL_S,
    PROBE_TIMEOUT_S,
    TRIP_AFTER_S,
    Breaker,
    CircuitOpen,
)
from web.messaging.config import CONFIG, STREAM
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
    """A connection being established in the background on some event loop, with its
    circuit breaker (web/messaging/breaker.py) and, while that is open, one probe task."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.up = threading.Event()
        self.breaker = Breaker(name)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._probe: asyncio.Task[None] | None = None

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        nc = await connect(self.url, name=self.name)
        self.nc, self.js = nc, nc.jetstream()
        with contextlib.suppress(Exception):  # the worker applies it too; this is a courtesy
            await ensure_jobs_stream(self.js)
        self.up.set()

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def trip(self, exc: BaseException) -> None:
        """A publish failed: open the breaker and start the probe. Any thread."""
        self.breaker.trip(exc)
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._start_probe()
        else:
            loop.call_soon_threadsafe(self._start_probe)

    def _start_probe(self) -> None:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_healthy())

    async def _probe_until_healthy(self) -> None:
        """One probe at a time: every PROBE_INTERVAL_S ask JetStream for the JOBS stream's
        info (a request the server answers only when JetStream works, and that stores
        nothing); the first answer closes the breaker."""
        while self.breaker.is_open:
            await asyncio.sleep(PROBE_INTERVAL_S)
            if not self.connected or self.js is None:
                continue
            try:
                await asyncio.wait_for(self.js.stream_info(STREAM), PROBE_TIMEOUT_S)
            except Exception as exc:
                self.breaker.last_error = f"probe: {exc!r}"[:300]
                continue
            self.breaker.reset()


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
        """Publish and wait for the PubAck; raise on any failure (the caller outboxes).

        Raises CircuitOpen at once while the breaker is open (NATS recently failed)."""
        if self.link.breaker.is_open:
            raise CircuitOpen("NATS circuit breaker is open")
        if not self._ready(timeout):
            raise ConnectionError("NATS is not connected")
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(
            self.link.js.publish(subject, data, timeout=timeout, headers=headers), self.loop
        )
        try:
            fut.result(timeout + 0.25)
        except FutureTimeout as exc:
            fut.cancel()
            self.link.trip(exc)
            raise TimeoutError(f"no PubAck within {timeout}s") from exc
        except Exception as exc:
            self.link.trip(exc)
            raise

    def publish_many(
        self, items: list[tuple[str, bytes, dict[str, str]]], timeout: float
    ) -> list[BaseException | None]:
        """Pipelined publish from sync code; one result per item (None = acked).

        Every item fails with CircuitOpen at once while the breaker is open."""
        if self.link.breaker.is_open:
            return [CircuitOpen("NATS circuit breaker is open")] * len(items)
        if not self._ready(timeout):
            return [ConnectionError("NATS is not connected")] * len(items)
        fut = asyncio.run_coroutine_threadsafe(
            publish_pipelined(self.link.js, items, timeout), self.loop
        )
        try:
            results = fut.result(timeout + 5 + len(items) / 100)
        except FutureTimeout:
            fut.cancel()
            results = [TimeoutError("no PubAck in time")] * len(items)
        failure = next((r for r in results if r is not None), None)
        if failure is not None:
            self.link.trip(failure)
        return results


async def publish_pipelined(
    js: JetStreamContext,
    items: list[tuple[str, bytes, dict[str, str]]],
    timeout: float,
    *,
    on_stall: Callable[[float], None] | None = None,
) -> list[BaseException | None]:
    """Publish all without waiting, then wait for every PubAck (bounded); one result each.

    ``on_stall(seconds)`` is called once if no PubAck came for TRIP_AFTER_S (breaker.py)
    while some are pending; the wait itself goes on up to ``timeout``."""
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
    loop = asyncio.get_running_loop()
    last = loop.time()
    stalled = on_stall is None
    while pending:
        until = last + (timeout if stalled else min(TRIP_AFTER_S, timeout))
        done, pending = await asyncio.wait(
            pending, timeout=max(0.0, until - loop.time()), return_when=asyncio.FIRST_COMPLETED
        )
        if done:
            last = loop.time()
        elif stalled:
            break
        else:
            stalled = True  # early warning: open the breaker, keep waiting for these
            assert on_stall is not None
            on_stall(loop.time() - last)
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


def breaker_open(url: str) -> bool:
    """True while the running loop's connection for url has its breaker open (cheap)."""
    try:
        link = _async.get(asyncio.get_running_loop(), {}).get(url)
    except RuntimeError:
        return False
    return link is not None and link.breaker.is_open


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
