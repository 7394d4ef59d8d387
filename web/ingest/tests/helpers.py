"""Test helpers: drive an ASGI app in-process, and a fixed site table."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from web.ingest.filters import RateLimiter
from web.ingest.handler import IngestApp
from web.ingest.publisher import Coalescer, Job
from web.ingest.sites import SiteCache, SiteInfo

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SITES = [
    SiteInfo(1, "hearthkey", ("127.0.0.1", "localhost")),
    SiteInfo(7, "shopkey", ("shop.example",)),
]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Recorder:
    """Collects what would have been published (pure unit tests of the request logic)."""

    jobs: list[Job] = field(default_factory=list)
    fail: bool = False

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every published event, packs unpacked, in order."""
        out: list[dict[str, Any]] = []
        for job_type, payload, _ in self.jobs:
            out.extend(payload["events"] if job_type == "analytics.events" else [payload])
        return out

    async def __call__(self, jobs: list[Job]) -> None:
        if self.fail:
            raise ConnectionError("publish failed on purpose")
        self.jobs.extend(jobs)


def make_app(
    recorder: Recorder | None = None, *, limiter: RateLimiter | None = None, trusted=()
) -> tuple[IngestApp, Recorder]:
    rec = recorder or Recorder()
    cache = SiteCache(loader=lambda: list(SITES))
    cache.load_now()
    app = IngestApp(sites=cache, coalescer=Coalescer(rec), limiter=limiter, trusted=trusted)
    return app, rec


async def acall(
    app: Any,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    chunks: list[bytes] | None = None,
    client: str = "203.0.113.9",
) -> Response:
    hdrs = {"user-agent": BROWSER_UA, **(headers or {})}
    if chunks is None and body and "content-length" not in hdrs:
        hdrs["content-length"] = str(len(body))
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in hdrs.items()],
        "client": (client, 40000),
    }
    parts = chunks if chunks is not None else [body]
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return Response(
        start["status"],
        {k.decode(): v.decode() for k, v in start["headers"]},
        b"".join(m.get("body", b"") for m in sent[1:]),
    )


def call(app: Any, method: str, path: str, **kw: Any) -> Response:
    return asyncio.run(acall(app, method, path, **kw))


def lean_router() -> Any:
    """The lean ASGI router with this app's routes (asgi.register), where a request that
    falls through to Django fails the test."""
    from web.core.asgi_router import LeanRouter
    from web.ingest import asgi

    async def django(scope, receive, send):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{scope['path']} fell through to Django")

    router = LeanRouter(django)
    asgi.register(router)
    return router
