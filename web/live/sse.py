"""Lean raw-ASGI Server-Sent Events endpoint for public channels (ADR-4).

``GET /live/events/?channel=<channel>`` with an optional ``Last-Event-ID`` header (or
``lastEventId`` query parameter, as django-eventstream accepts). One channel per connection,
so every listener shares one pre-encoded frame per event. Wire format is django-eventstream's:
``event: stream-open`` first, then ``event: message`` frames with ``id: <channel>:<seq>``,
``event: stream-reset`` when a resume is impossible (refetch state), and ``event: keep-alive``
every 20 s. When the channel stops being public (a share link revoked, a post unpublished),
the open stream gets a ``stream-error`` frame and ends (runtime.ACCESS_RECHECK_S); one client
IP may hold MAX_STREAMS_PER_IP streams open, one more is a 429.

Cost per idle connection: the server's protocol objects, the ASGI task parked in receive(),
and one small _Conn. No thread, no database connection, no extra task: fan-out writes are
driven from the hub with eager tasks that finish synchronously unless the socket is full.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qs

from web.core.asgi_router import Receive, Scope, Send
from web.ingest.clientip import Network, client_ip, parse_trusted
from web.live.channels import public_channel_allowed
from web.live.hub import Hub, encode_frame, event_id, parse_last_event_id
from web.live.runtime import get_runtime

PATH = "/live/events/"
MAX_PENDING = 256  # frames queued behind a blocked socket before the client is dropped
# Open public streams per client IP (an IPv6 client counts per /64) in one web process;
# one more is a 429 (issue 15, S10). The reverse proxy's limit_conn caps all processes
# together (docs/architecture/queues-and-subjects.md, "Limits per client").
MAX_STREAMS_PER_IP = 20
_open_by_ip: dict[str, int] = {}
_trusted: tuple[Network, ...] | None = None
_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class _Conn:
    """One listening client: writes to its socket, queues while the socket is blocked."""

    __slots__ = ("busy", "closed", "loop", "pending", "send")

    def __init__(self, send: Send, loop: asyncio.AbstractEventLoop) -> None:
        self.send = send
        self.loop = loop
        self.busy = False
        self.closed = False
        self.pending: list[bytes] | None = None

    def push(self, frame: bytes) -> None:
        if self.closed:
            return
        if self.busy:
            if self.pending is None:
                self.pending = []
            if len(self.pending) >= MAX_PENDING:
                # Too slow: end the response; the browser reconnects with Last-Event-ID and
                # resumes from the ring (or gets a reset).
                self.closed = True
                self.pending = [b""]
                return
            self.pending.append(frame)
            return
        self._write(frame, more=True)

    def close(self) -> None:
        """End the response after the frames already queued (server shutdown: the browser
        reconnects elsewhere; a revoked channel: its stream-error frame goes out first)."""
        if self.closed:
            return
        self.closed = True
        if self.busy:
            self.pending = [*(self.pending or ()), b""]
        else:
            self._write(b"", more=False)

    def _write(self, body: bytes, *, more: bool) -> None:
        self.busy = True
        message: MutableMapping[str, Any] = {
            "type": "http.response.body",
            "body": body,
            "more_body": more,
        }
        task = asyncio.eager_task_factory(self.loop, self.send(message))
        if task.done():
            self._written(task)
        else:
            task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self.busy = False
        if task.cancelled() or task.exception() is not None:
            self.closed = True
            self.pending = None
            return
        pending, self.pending = self.pending, None
        if pending:
            self._write(b"".join(pending), more=not self.closed)


def _client_key(scope: Scope) -> str:
    """Who to count a stream against: the client IP as ingest resolves it (X-Forwarded-For
    only from HEARTH_TRUSTED_PROXIES), an IPv6 address by its /64."""
    global _trusted
    if _trusted is None:
        from django.conf import settings

        _trusted = parse_trusted(settings.ENV.trusted_proxies)
    peer = (scope.get("client") or ("", 0))[0] or ""
    xff = ""
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            xff = value.decode("latin-1")
    ip = client_ip(peer, xff, _trusted)
    if ":" in ip:
        try:
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
        except ValueError:
            pass
    return ip


async def _respond(send: Send, status: int, text: str) -> None:
    body = json.dumps({"error": text}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _opening(hub: Hub, channel: str, last: int | None) -> bytes:
    """stream-open (with the current position as id), then replay or a reset."""
    opening = encode_frame("stream-open", "", event_id(channel, hub.head))
    if last is None:
        return opening
    missed = hub.since(channel, last)
    if missed is None:
        reset = json.dumps({"channels": [channel]})
        return opening + encode_frame("stream-reset", reset, event_id(channel, hub.head))
    return opening + b"".join(e.frame for e in missed)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI app mounted at PATH."""
    if scope["type"] != "http":
        return
    if scope["method"] not in ("GET", "HEAD"):
        await _respond(send, 405, "use GET")
        return
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    channels = query.get("channel", [])
    if len(channels) != 1:
        await _respond(send, 400, "give exactly one ?channel=")
        return
    channel = channels[0]
    if not await public_channel_allowed(channel):
        await _respond(send, 403, f"channel {channel!r} is not public")
        return
    raw_last = ""
    for name, value in scope.get("headers", ()):
        if name == b"last-event-id":
            raw_last = value.decode("latin-1")
    if not raw_last:
        raw_last = next((v for v in reversed(query.get("lastEventId", [])) if v), "")
    try:
        last = parse_last_event_id(raw_last, channel)
    except ValueError as exc:
        await _respond(send, 400, f"bad Last-Event-ID: {exc}")
        return

    hub = get_runtime().hub
    if scope["method"] == "HEAD":
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": b""})
        return
    who = _client_key(scope)
    if _open_by_ip.get(who, 0) >= MAX_STREAMS_PER_IP:
        text = (
            f"too many open live streams from your address (the limit is {MAX_STREAMS_PER_IP});"
            " close other tabs and retry"
        )
        await _respond(send, 429, text)
        return
    _open_by_ip[who] = _open_by_ip.get(who, 0) + 1
    try:
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        conn = _Conn(send, asyncio.get_running_loop())
        # No await between the replay and subscribing: no event can slip in between.
        conn.push(_opening(hub, channel, last))
        hub.subscribe(channel, conn)
        try:
            while not conn.closed:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
        finally:
            conn.closed = True
            hub.unsubscribe(channel, conn)
    finally:
        left = _open_by_ip.pop(who, 1) - 1
        if left > 0:
            _open_by_ip[who] = left
