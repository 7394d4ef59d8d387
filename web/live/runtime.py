"""The one NATS subscription of a web process, feeding the hub and django-eventstream.

Started from the ASGI lifespan (web/live/asgi.py). The subscription is an ordered JetStream
consumer on the EVENTS stream: it delivers every event once, in stream order, with the stream
sequence that serves as SSE id; after a NATS outage nats-py recreates it from the last seen
sequence, so a short disconnect loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from django.conf import settings
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from web.live.channels import channel_for_subject, public_channels_revoked
from web.live.hub import Event, Hub, encode_frame, normalise_payload
from web.live.nats_client import connect_forever, nats_url
from web.live.stream import STREAM, ensure_stream

log = logging.getLogger(__name__)

KEEPALIVE_S = 20.0
HEARTBEAT_S = 2.0
# Open public streams re-ask their channel's check this often: a revoked share link or an
# unpublished post stops streaming within this time (issue 15, S4). New connections are
# refused sooner, within channels.CACHE_SECONDS.
ACCESS_RECHECK_S = 30.0


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


class LiveRuntime:
    """Per-process state: the hub, the NATS client, the subscription, the keep-alive ticker."""

    def __init__(self) -> None:
        self.hub = Hub(
            ring_size=_setting("LIVE_RING_SIZE", 100),
            max_channels=_setting("LIVE_MAX_CHANNELS", 10_000),
        )
        self.nc: Client | None = None
        self.ready = asyncio.Event()
        self.dropped = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Return at once; connecting and subscribing happen in the background."""
        self.ready = asyncio.Event()
        self.hub.taps.append(_feed_eventstream)
        self._tasks = [
            asyncio.create_task(self._run(), name="live-subscribe"),
            asyncio.create_task(self._keepalive(), name="live-keepalive"),
            asyncio.create_task(self._recheck_access(), name="live-recheck"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        if _feed_eventstream in self.hub.taps:
            self.hub.taps.remove(_feed_eventstream)

    async def _run(self) -> None:
        per_subject = self.hub.ring_size
        self.nc = await connect_forever(
            nats_url(), name="live", on_reconnect=lambda: self._ensure(per_subject)
        )
        js = self.nc.jetstream()
        while True:
            try:
                last_seq = await ensure_stream(js, per_subject=per_subject)
                self.hub.start(last_seq)
                await js.subscribe(
                    "events.>",
                    stream=STREAM,
                    cb=self._on_msg,
                    ordered_consumer=True,
                    idle_heartbeat=HEARTBEAT_S,
                    config=ConsumerConfig(
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last_seq + 1
                    ),
                    pending_msgs_limit=100_000,
                )
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live: cannot subscribe yet (%r); retrying", exc)
                await asyncio.sleep(1)
        self.ready.set()
        log.info("live: subscribed to events.> from sequence %d", self.hub.head + 1)

    async def _ensure(self, per_subject: int) -> None:
        """After a NATS restart the memory stream is gone: put it back before the consumer's
        next reset; a stream recreated with a higher first_seq shows up as a gap in the hub."""
        if self.nc is None:
            return
        try:
            await ensure_stream(self.nc.jetstream(), per_subject=per_subject)
        except Exception as exc:
            log.warning("live: cannot ensure stream after reconnect (%r)", exc)

    async def _on_msg(self, msg: Msg) -> None:
        channel = channel_for_subject(msg.subject)
        try:
            seq = msg.metadata.sequence.stream
            data = normalise_payload(msg.data)
        except Exception:
            channel = None
        if channel is None:
            self.dropped += 1
            return
        self.hub.publish(channel, seq, data)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            self.hub.keepalive()

    async def _recheck_access(self) -> None:
        while True:
            await asyncio.sleep(ACCESS_RECHECK_S)
            try:
                await end_revoked_streams(self.hub)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live: re-checking public channels failed; retrying later")


def revoked_frame(channel: str) -> bytes:
    """The last frame of a stream whose channel stopped being public: django-eventstream's
    own kick event (``stream-error``, condition ``forbidden``). No id, so the browser's
    Last-Event-ID stays valid; its reconnect then gets a 403 and EventSource gives up."""
    data = {
        "condition": "forbidden",
        "text": f"channel {channel} is no longer public (link revoked or post unpublished)",
        "channels": [channel],
    }
    return encode_frame("stream-error", json.dumps(data), None)


async def end_revoked_streams(hub: Hub) -> list[str]:
    """End every open public stream whose channel's check now says no; return those
    channels. Hub listeners are public SSE connections only (admin streams are
    django-eventstream's)."""
    revoked = await public_channels_revoked(list(hub.listeners))
    for channel in revoked:
        ended = hub.end_channel(channel, revoked_frame(channel))
        if ended:
            log.info("live: %s is no longer public; ended %d stream(s)", channel, ended)
    return revoked


def _feed_eventstream(event: Event) -> None:
    """Hand the event to django-eventstream's listeners in this process (admin channels).

    send_event() would reach only this process and would store the event again, so the
    listener manager is fed directly with the stream sequence as the event id.
    """
    from django_eventstream.event import Event as EsEvent
    from django_eventstream.views import get_listener_manager

    manager = get_listener_manager()
    if event.channel in manager.listeners_by_channel:
        es_event = EsEvent(event.channel, "message", event.data, event.seq)
        manager.add_to_queues(event.channel, es_event)


_runtime: LiveRuntime | None = None


def get_runtime() -> LiveRuntime:
    global _runtime
    if _runtime is None:
        _runtime = LiveRuntime()
    return _runtime
