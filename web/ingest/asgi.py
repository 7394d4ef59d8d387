"""Lean ASGI routes of this app, mounted in front of Django by web/asgi.py (ADR-10).

Routes: the ingest endpoints (routes.ROUTES), the tracker script, and in DEBUG only a
test page at /ingest-test/ that runs the tracker (used by the browser tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from urllib.parse import parse_qs

from django.conf import settings

from web.core.asgi_router import LeanRouter, Receive, Scope, Send
from web.ingest import tally, tracker
from web.ingest.clientip import parse_trusted
from web.ingest.filters import RateLimiter
from web.ingest.handler import IngestApp
from web.ingest.publisher import Coalescer
from web.ingest.routes import PREFIXES, ROUTES
from web.ingest.sites import SiteCache

# Defaults, overridable in settings (see docs/architecture/ingest.md).
RATE_PER_S = 10.0
RATE_BURST = 60.0
SITE_TTL_S = 10.0
# One publish at a time, each waiting up to 3 ms for more events: bigger packs, so fewer
# fsyncs on publish and on ack (ADR-13, measured in the benchmark section of ingest.md).
PUBLISH_INFLIGHT = 1
LINGER_S = 0.003


def build_app() -> IngestApp:
    """The process-wide ingest app, configured from settings and HEARTH_* env."""
    return IngestApp(
        sites=SiteCache(ttl=getattr(settings, "INGEST_SITE_TTL_S", SITE_TTL_S)),
        coalescer=Coalescer(
            max_inflight=getattr(settings, "INGEST_PUBLISH_INFLIGHT", PUBLISH_INFLIGHT),
            linger_s=getattr(settings, "INGEST_LINGER_S", LINGER_S),
        ),
        limiter=RateLimiter(
            rate=getattr(settings, "INGEST_RATE_PER_S", RATE_PER_S),
            burst=getattr(settings, "INGEST_RATE_BURST", RATE_BURST),
        ),
        trusted=parse_trusted(settings.ENV.trusted_proxies),
    )


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _accepts_gzip(scope: Scope) -> bool:
    return any(n == b"accept-encoding" and b"gzip" in v for n, v in scope["headers"])


def script_app(max_age: int, script: tracker.Script | None = None) -> object:
    """Serve the tracker (or ``script``) from memory, gzipped when the client accepts it.
    Mounted on a path prefix, only names matching tracker.COMPAT_NAME are served."""
    cache = f"public, max-age={max_age}" + (", immutable" if max_age > 3600 else "")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        known = script is None or path in tracker.COMPAT_PATHS
        if not known and not tracker.COMPAT_NAME.fullmatch(path):
            plain = [(b"content-type", b"text/plain; charset=utf-8")]
            await _send(send, 404, plain, b"no such script\n")
            return
        served = script or tracker.SCRIPT
        headers = [
            (b"content-type", b"text/javascript; charset=utf-8"),
            (b"cache-control", cache.encode()),
            (b"etag", served.etag),
            (b"vary", b"Accept-Encoding"),
            (b"access-control-allow-origin", b"*"),
        ]
        if any(n == b"if-none-match" and v == served.etag for n, v in scope["headers"]):
            await _send(send, 304, headers, b"")
            return
        body = served.body
        if _accepts_gzip(scope):
            headers.append((b"content-encoding", b"gzip"))
            body = served.gz
        await _send(send, 200, headers, b"" if scope["method"] == "HEAD" else body)

    return app


TEST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Hearth ingest test</title></head><body>
<h1>Hearth ingest test page</h1>
<p><a id="out" href="https://example.org/elsewhere" onclick="event.preventDefault()">out</a>
<a id="dl" href="/files/report.pdf" onclick="event.preventDefault()">report.pdf</a>
<button id="signup" data-hearth-event="Signup" data-hearth-prop-plan="pro">Sign up</button>
<button id="spa" onclick="history.pushState({}, '', '/ingest-test/next')">next page</button>
<button id="hashnav" onclick="location.hash = '#/section'">hash</button>
<button id="call" onclick="hearth('Called', {props: {via: 'js'}})">call</button>
<button id="boom" onclick="setTimeout(function () { nope.boom() })">throw</button>
<button id="reject" onclick="Promise.reject(new TypeError('rejected on purpose'))">reject</button>
</p><div style="height: 4000px"></div>
<script defer data-site="{key}" src="{src}"{attrs}></script>
</body></html>
"""


def test_page_app(ingest: IngestApp) -> object:
    """DEBUG only: a page on the Hearth site that runs the tracker (?k=, hash, dnt, 404)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        q = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        snapshot = await ingest.sites.get()
        site = snapshot.find("key", q.get("k", "1"))
        key = site.key if site else q.get("k", "")
        attrs = "".join(f" data-{a}" for a in ("hash", "dnt", "404") if q.get(a) == "1")
        page = TEST_PAGE.replace("{key}", html.escape(key)).replace("{src}", tracker.SCRIPT.path)
        page = page.replace("{attrs}", attrs)
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]
        await _send(send, 200, headers, page.encode())

    return app


INGEST: IngestApp | None = None


def register(router: LeanRouter) -> None:
    """Add this app's lean routes and lifespan hooks to the router."""
    global INGEST
    INGEST = ingest = build_app()
    for path in ROUTES:
        router.route(path, ingest)
    for prefix in PREFIXES:
        router.route(prefix, ingest, prefix=True)
    router.route(tracker.SCRIPT.path, script_app(365 * 24 * 3600))  # type: ignore[arg-type]
    router.route("/ingest/t.js", script_app(300))  # type: ignore[arg-type]
    # The drop-in build at the paths Plausible, Umami and GoatCounter snippets load.
    compat = script_app(300, tracker.COMPAT)
    for path in tracker.COMPAT_PATHS:
        router.route(path, compat)  # type: ignore[arg-type]
    for prefix in tracker.COMPAT_PREFIXES:
        router.route(prefix, compat, prefix=True)  # type: ignore[arg-type]
    if settings.DEBUG:
        router.route("/ingest-test/", test_page_app(ingest))  # type: ignore[arg-type]

    async def warm_up() -> None:
        # Load the sites and open this process's NATS link before the first beacon; a
        # failure here is only logged: both are retried by the request path.
        try:
            await ingest.sites.get()
            from web.messaging.client import async_link

            await async_link(settings.ENV.nats_url)
        except Exception:
            logging.getLogger(__name__).exception("ingest: warm-up failed")

    router.on_startup(warm_up)

    flusher: list[asyncio.Task[None]] = []

    async def start_tally() -> None:
        # Beacon counts for the site admin page, written off the request path (tally.py).
        every = getattr(settings, "INGEST_TALLY_FLUSH_S", tally.FLUSH_S)
        flusher.append(asyncio.get_running_loop().create_task(ingest.tally.run(every)))

    async def stop_tally() -> None:
        for task in flusher:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    router.on_startup(start_tally)
    router.on_shutdown(stop_tally)
