"""Publishing live events: core NATS, fire-and-forget, bounded in time.

Live events are hints for browsers (a counter moved, a comment arrived), not records: when
NATS is down they are dropped after a short bound instead of blocking a request, and browsers
that missed them get a ``stream-reset`` and refetch state. Durable work goes through
``web.messaging.jobs.enqueue`` instead.

``id`` becomes the ``Nats-Msg-Id`` header: the EVENTS stream drops a second publish with the
same id within 30 s, so a retried publish does not show twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import weakref
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from nats.aio.client import Client

from web.live.channels import channel_for_subject
from web.live.nats_client import connect_forever, nats_url

log = logging.getLogger(__name__)

CONNECT_WAIT_S = 0.5  # how long a publish may wait for a (re)connecting client
MAX_PAYLOAD = 64 * 1024

dropped = 0  # events given up because NATS was unreachable, per process


def _encode(subject: str, data: dict[str, Any], id: str | None) -> tuple[bytes, dict[str, str]]:
    if channel_for_subject(subject) is None:
        raise ValueError(f"{subject!r} is not a live event subject (events.<a>.<b>...)")
    if not isinstance(data, dict):
        raise TypeError("data must be a dict of JSON values")
    payload = json.dumps(data, separators=(",", ":"), cls=DjangoJSONEncoder).encode()
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"live event payload is {len(payload)} bytes; keep it under 64 KiB")
    return payload, ({"Nats-Msg-Id": id} if id else {})


class _LoopPublisher:
    """One lazily connected client bound to one event loop."""

    def __init__(self) -> None:
        self.url = ""
        self.started = 0.0
        self.task: asyncio.Task[Client] | None = None
        self.closing: asyncio.Future[None] | None = None  # old client after a URL change

    def _connect(self, url: str) -> asyncio.Task[Client]:
        if self.task is None or self.url != url:
            old = self.task
            if old is not None and not old.done():
                old.cancel()
            elif old is not None and not old.cancelled() and old.exception() is None:
                self.closing = asyncio.ensure_future(old.result().close())
            self.url = url
            self.started = time.monotonic()
            self.task = asyncio.ensure_future(connect_forever(url, name="publish"))
        return self.task

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> bool:
        task = self._connect(nats_url())
        if not task.done():
            # Only the first CONNECT_WAIT_S after the client was made may wait; later callers
            # drop at once while NATS stays unreachable, so a view publishing many events
            # cannot pile up waits.
            left = self.started + CONNECT_WAIT_S - time.monotonic()
            if left <= 0:
                return False
            done, _ = await asyncio.wait({task}, timeout=left)
            if not done:
                return False
        nc = task.result()
        # While reconnecting nats-py buffers up to 2 MiB and raises when that is full.
        await nc.publish(subject, payload, headers=headers or None)
        return True


_loop_publishers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPublisher] = (
    weakref.WeakKeyDictionary()
)


def _count_drop(subject: str, why: str) -> None:
    global dropped
    dropped += 1
    if dropped in (1, 10, 100) or dropped % 1000 == 0:
        log.warning("live event on %s dropped (%s); %d dropped so far", subject, why, dropped)


async def publish_event_async(subject: str, data: dict[str, Any], *, id: str | None = None) -> None:
    """Publish from async code on this event loop's own client. Never waits for NATS for more
    than CONNECT_WAIT_S; raises only for bad input (ValueError, TypeError)."""
    payload, headers = _encode(subject, data, id)
    loop = asyncio.get_running_loop()
    pub = _loop_publishers.get(loop)
    if pub is None:
        pub = _loop_publishers[loop] = _LoopPublisher()
    try:
        if not await pub.publish(subject, payload, headers):
            _count_drop(subject, "NATS not connected")
    except Exception as exc:
        _count_drop(subject, repr(exc))


class _ThreadPublisher:
    """For sync callers: a daemon thread with its own loop and client, made on first use and
    again in a forked child."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pub = _LoopPublisher()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="live-publish", daemon=True)
                thread.start()
                self.loop, self.pid, self.pub = loop, os.getpid(), _LoopPublisher()
            return self.loop

    def publish(
        self, subject: str, payload: bytes, headers: dict[str, str], *, wait: bool = True
    ) -> None:
        loop = self._ensure_loop()
        started = time.monotonic()
        future = asyncio.run_coroutine_threadsafe(self.pub.publish(subject, payload, headers), loop)
        if not wait:
            future.add_done_callback(lambda f: _settled(subject, f, started))
            return
        try:
            if not future.result(timeout=CONNECT_WAIT_S + 0.5):
                _count_drop(subject, "NATS not connected")
        except Exception as exc:
            future.cancel()
            _count_drop(subject, f"{exc!r} after {time.monotonic() - started:.2f}s")


def _settled(subject: str, future: Any, started: float) -> None:
    """Count a fire-and-forget publish that did not go out (runs on the publisher's loop)."""
    if future.cancelled():
        _count_drop(subject, "cancelled")
    elif future.exception() is not None:
        _count_drop(subject, f"{future.exception()!r} after {time.monotonic() - started:.2f}s")
    elif not future.result():
        _count_drop(subject, "NATS not connected")


_thread_publisher = _ThreadPublisher()


def publish_event(
    subject: str, data: dict[str, Any], *, id: str | None = None, wait: bool = True
) -> None:
    """Publish from sync code (views, worker handlers, cron). Returns within about a second
    even when NATS is down; raises only for bad input (ValueError, TypeError).

    ``wait=False`` hands the event to the publisher thread and returns at once (a failure is
    only counted): for hot paths such as the analytics worker, where waiting for the
    publisher thread's round trip cost ~10% of the worker's CPU under load.
    """
    payload, headers = _encode(subject, data, id)
    _thread_publisher.publish(subject, payload, headers, wait=wait)


def publish_best_effort(
    subject: str, data: dict[str, Any], *, id: str | None = None, wait: bool = True
) -> bool:
    """publish_event for callers whose own work is already done (a committed comment or
    batch, an alert whose email still goes out): live display is best effort, so any error
    is logged and swallowed. Returns False when the event was not handed over."""
    try:
        publish_event(subject, data, id=id, wait=wait)
    except Exception as exc:  # a live view missing one event must never undo the caller
        log.warning("live publish to %s failed: %s", subject, exc)
        return False
    return True
