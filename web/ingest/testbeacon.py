"""The site admin's "Send a test pageview" button (issue 17, item 8).

The beacon goes through this process's real ingest app (web/ingest/asgi.py: the same
handler, pipeline, drop rules and publish as a visitor's) with a normal browser
User-Agent and the site's first domain; only the socket is skipped. Its beacon counts are
then written at once, so the page the owner lands on already shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync

from web.ingest.selectors import DROP_REASONS

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
TEST_PATH = "/hearth-test-pageview"


@dataclass(frozen=True)
class TestResult:
    ok: bool
    status: int
    message: str


def _app() -> Any:
    from web.ingest import asgi

    # Not under the ASGI app (a WSGI server, a shell): a fresh app for this one beacon, as
    # async_to_sync runs it on a loop of its own and the app's publisher is bound to a loop.
    return asgi.INGEST or asgi.build_app()


async def _post(app: Any, body: bytes, origin: str) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/ingest/e",
        "query_string": b"",
        "headers": [
            (b"user-agent", BROWSER_UA.encode()),
            (b"content-type", b"text/plain"),
            (b"content-length", str(len(body)).encode()),
            (b"origin", origin.encode()),
        ],
        "client": ("127.0.0.1", 0),
    }
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0].get("headers", [])}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def send_test_pageview(site: Any) -> TestResult:
    """Send one pageview for ``site`` (a Site) through ingest; say what happened."""
    domains = [str(d) for d in site.domains or () if d]
    if not domains:
        return TestResult(False, 0, "Add a domain to this site first: beacons must come from one.")
    page = f"https://{domains[0]}{TEST_PATH}"
    body = json.dumps({"k": site.public_key, "n": "pageview", "u": page, "t": "Hearth test"})
    app = _app()
    status, headers, reply = async_to_sync(_post)(app, body.encode(), f"https://{domains[0]}")
    try:
        app.tally.flush_now(background=False)
    except Exception as exc:  # the beacon was still handled; only the counts are late
        return TestResult(False, status, f"Sent (HTTP {status}), but counting failed: {exc}")
    drop = headers.get("x-hearth-drop", "")
    if status == 202 and not drop:
        return TestResult(
            True, status, f"Test pageview of {page} accepted (HTTP 202): it is counted below."
        )
    if status == 202:
        why = DROP_REASONS.get(drop, drop)
        return TestResult(False, status, f"Test pageview dropped as {drop!r}: {why}.")
    try:
        error = json.loads(reply).get("error", "")
    except ValueError:
        error = reply.decode("utf-8", "replace")[:200]
    return TestResult(False, status, f"Test pageview refused (HTTP {status}): {error}")
