"""The raw ASGI handler of every ingest path (ADR-10: no Django request stack here).

Per request: read at most 8 KiB within BODY_TIMEOUT_S, parse with the format's parser, run
the shared pipeline (site, drop rules, stamp), hand the events to the coalescing publisher
and wait for the PubAck (or the outbox), then answer. Sites come from an in-process
snapshot (ADR-11); only a beacon naming a site the snapshot lacks waits for a fresh load
of the table, in a thread, at most one a second (sites.py). Outcomes are counted in memory
for the Site admin page (tally.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from web.core.asgi_router import Receive, Scope, Send
from web.ingest import metrics, pipeline
from web.ingest.clientip import Network, client_ip
from web.ingest.errors import IngestError, MethodNotAllowed, TooLarge, TooManyOpen
from web.ingest.filters import RateLimiter
from web.ingest.parsers import Incoming
from web.ingest.publisher import Coalescer
from web.ingest.routes import COMMON, ROUTES, Route, preflight
from web.ingest.sites import SiteCache
from web.ingest.tally import TALLY, Tally
from web.ingest.validate import MAX_BODY

log = logging.getLogger(__name__)

# The smallest valid image: a 1x1 transparent GIF (42 bytes), for <img> based beacons.
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b"
)
ACCEPTED_MARK = b"x-hearth-drop"
# A beacon body is at most 8 KiB and a browser sends it at once: a body still incomplete
# after this long is a slow-body attack (or a dead client) holding a connection and a task.
# The whole body, not each read: trickling a byte a second must not reset it (issue 15,
# S10). The reverse proxy's client_body_timeout does the same in front (ingest.md, "Limits").
BODY_TIMEOUT_S = 10.0
# Requests one client IP may have open at once in one web process (bodies being read and
# beacons being handled). A browser sends a beacon at a time; 32 is far above any real page
# and caps what slow-body clients hold (issue 15, S10; the proxy's limit_conn caps the box).
MAX_OPEN_PER_IP = 32
_ACCEPTED_ONE = b'{"ok": true, "accepted": 1}'


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    ctype: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [*COMMON, (b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyTimeout(IngestError):
    """The body did not arrive within BODY_TIMEOUT_S (408; the connection is closed)."""

    status = 408


async def read_body(
    receive: Receive, declared: int | None, limit: int = MAX_BODY, timeout: float | None = None
) -> bytes:
    """The request body; TooLarge as soon as it is known to exceed ``limit``; BodyTimeout
    when the whole body took longer than ``timeout`` seconds (default BODY_TIMEOUT_S)."""
    if declared is not None and declared > limit:
        raise TooLarge(f"body is {declared} bytes; the limit is {limit} bytes (8 KiB)")
    timeout = BODY_TIMEOUT_S if timeout is None else timeout
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"body is over {limit} bytes (8 KiB)")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise BodyTimeout(
            f"the request body did not arrive within {timeout:g} s; send it at once"
        ) from None
    return b"".join(chunks)


class IngestApp:
    """ASGI app for the paths in ROUTES; its collaborators are injected for tests."""

    def __init__(
        self,
        *,
        sites: SiteCache,
        coalescer: Coalescer,
        limiter: RateLimiter | None,
        trusted: tuple[Network, ...] = (),
        clock: Callable[[], float] = time.time,
        tally: Tally = TALLY,
    ) -> None:
        self.sites = sites
        self.tally = tally
        self.coalescer = coalescer
        self.limiter = limiter
        self.trusted = trusted
        self.clock = clock
        self.open_per_ip: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        route = ROUTES.get(scope["path"])
        if route is None:  # only reachable when mounted by prefix
            await _respond(send, 404, b'{"error":"not found"}', b"application/json")
            return
        try:
            status, body, extra = await self._handle(route, scope, receive)
        except IngestError as exc:
            metrics.REJECTED.labels(str(exc.status)).inc()
            msg = json.dumps({"error": exc.message}).encode()
            # After a body timeout, or a refusal before the body was read, the rest of the
            # body may still come: close the connection rather than read it as a request.
            closing = isinstance(exc, BodyTimeout | TooManyOpen)
            extra = [(b"connection", b"close")] if closing else None
            await _respond(send, exc.status, msg, b"application/json", extra)
            return
        if status in (204, 503):
            await _respond(send, status, body, b"application/json", extra)
        elif route.gif:
            await _respond(send, status, GIF, b"image/gif", extra)
        else:
            await _respond(send, status, body, b"application/json", extra)

    async def _handle(
        self, route: Route, scope: Scope, receive: Receive
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        method = scope["method"]
        if method == "OPTIONS":
            return 204, b"", preflight(scope["headers"])
        if method == "HEAD" and "GET" in route.methods:
            method = "GET"
        if method not in route.methods:
            allowed = ", ".join(sorted(route.methods))
            raise MethodNotAllowed(f"{scope['method']} is not allowed here; use {allowed}")
        declared = None
        ctype = ua = referer = origin = xff = ""
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
            elif name == b"content-type":
                ctype = value.decode("latin-1").split(";", 1)[0].strip().lower()
            elif name == b"user-agent":
                ua = value.decode("latin-1")[:500]
            elif name == b"referer":
                referer = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                xff = value.decode("latin-1")
        peer = (scope.get("client") or ("", 0))[0] or ""
        ip = client_ip(peer, xff, self.trusted)
        if self.open_per_ip.get(ip, 0) >= MAX_OPEN_PER_IP:
            raise TooManyOpen(
                f"{MAX_OPEN_PER_IP} requests from your address are still open; finish them first"
            )
        self.open_per_ip[ip] = self.open_per_ip.get(ip, 0) + 1
        try:
            body = await read_body(receive, declared) if method == "POST" else b""
        finally:
            left = self.open_per_ip[ip] - 1
            if left:
                self.open_per_ip[ip] = left
            else:
                del self.open_per_ip[ip]
        req = Incoming(
            method=method,
            query=scope.get("query_string", b"").decode("latin-1"),
            body=body,
            content_type=ctype,
            referer=referer,
            origin=origin,
        )
        hits = route.parser(req)
        snapshot = await self.sites.get()
        try:
            out = pipeline.process(
                hits, sites=snapshot, ip=ip, ua=ua, ts=self.clock(), limiter=self.limiter
            )
        except pipeline.UnknownSiteRef:
            # The snapshot may predate the site: look again in a fresh load (issue 16.1).
            # A miss may wait up to a second for it, so misses spend the client's rate
            # tokens: past the rate a client's unknown keys are refused at once.
            over = self.limiter is not None and not self.limiter.allow(ip)
            fresh = snapshot if over else await self.sites.reload_on_miss()
            try:
                if fresh is snapshot:  # over the rate, or the load failed: nothing new
                    raise
                out = pipeline.process(
                    hits, sites=fresh, ip=ip, ua=ua, ts=self.clock(), limiter=self.limiter
                )
            except pipeline.UnknownSiteRef as exc:
                self.tally.refused(exc.how, exc.value)  # shown on the site admin page
                raise
        extra: list[tuple[bytes, bytes]] = []
        for reason, n in out.dropped.items():
            metrics.dropped(reason, n)
        for (site_id, reason), n in out.dropped_by_site.items():
            self.tally.dropped(site_id, reason, n)
        if out.dropped:
            extra.append((ACCEPTED_MARK, out.drop_reason.encode()))
        if out.events:
            try:
                await self.coalescer.submit(out.events)  # type: ignore[arg-type]
            except Exception:
                log.exception("ingest: publishing %d events failed", len(out.events))
                metrics.PUBLISH_FAILED.inc()
                return 503, b'{"error":"could not queue the event; retry later"}', extra
            metrics.accepted(out.events[0]["src"], len(out.events))  # type: ignore[typeddict-item]
            for event in out.events:
                self.tally.accepted(event["site"])
        if route.reply is None and not out.dropped and len(out.events) == 1:
            return route.status, _ACCEPTED_ONE, extra
        result: dict[str, Any] = {"ok": True, "accepted": len(out.events)}
        if out.dropped:
            result["dropped"] = out.drop_reason
        body = route.reply(result) if route.reply else json.dumps(result).encode()
        return route.status, body, extra
