"""Which parser answers which ingest path, and the CORS headers every answer carries.

Kept apart from handler.py so that adding a wire format (a path and its parser) does not
touch the request handling: the handler looks the path up here and runs the parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from web.ingest import parsers
from web.ingest.protocols import ga4, matomo, umami
from web.ingest.protocols.common import Incoming


@dataclass(frozen=True)
class Route:
    """``reply`` encodes the 202 body from the handler's result dict
    (``{"ok": True, "accepted": n[, "dropped": reason]}``); None means that dict as JSON.
    ``status`` is the success status the peer's clients expect (Matomo's Node client
    reports anything but 200/204 as an error)."""

    parser: Callable[[Incoming], Any]
    methods: frozenset[str]
    gif: bool = False
    reply: Callable[[dict[str, Any]], bytes] | None = None
    status: int = 202


POST = frozenset({"POST"})
GET_POST = frozenset({"GET", "POST"})
# Matomo answers a tracking request with a 1x1 GIF and 200 (or 204 with send_image=0).
MATOMO = Route(matomo.parse_matomo, GET_POST, gif=True, status=200)
ROUTES: dict[str, Route] = {
    "/ingest/e": Route(parsers.parse_native, POST),
    "/api/event": Route(parsers.parse_plausible, POST),
    "/api/send": Route(umami.parse_umami_send, POST, reply=umami.reply),
    "/api/batch": Route(umami.parse_umami_batch, POST, reply=umami.reply),
    "/count": Route(parsers.parse_goatcounter, GET_POST, gif=True),
    "/ingest/p.gif": Route(parsers.parse_pixel, frozenset({"GET"}), gif=True),
    "/ingest/report": Route(parsers.parse_reports, POST),
    "/matomo.php": MATOMO,
    "/piwik.php": MATOMO,
    "/g/collect": Route(ga4.parse_ga4_collect, GET_POST),
    "/mp/collect": Route(ga4.parse_ga4_mp, POST),
}

# Path prefixes answered by the ingest app, so that an unknown path under one of them gets
# a JSON 404 from the handler instead of Django's HTML page.
# GA4's paths (gtag.js also knows /g/s/collect, /debug/…): anything else under /g/ and /mp/
# is a JSON 404, never Django's HTML page.
PREFIXES: tuple[str, ...] = ("/g/", "/mp/")

COMMON = [
    (b"cache-control", b"no-store"),
    (b"access-control-allow-origin", b"*"),
    (b"x-content-type-options", b"nosniff"),
]
_PREFLIGHT = [
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-max-age", b"86400"),
    (b"vary", b"Access-Control-Request-Headers"),
]
_DEFAULT_ALLOWED = b"content-type"
# A header list as browsers send it: comma-separated header names (RFC 9110 tokens).
_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
MAX_REQUESTED_HEADERS = 1000


def _allowed_headers(requested: bytes) -> bytes:
    """The requested header names, echoed when they are a well-formed list, else
    content-type. Umami's server allows every header (``*``); echoing the list allows the
    same and also works where ``*`` does not (a request with credentials)."""
    names = [n.strip() for n in requested.split(b",") if n.strip()]
    if not names or len(requested) > MAX_REQUESTED_HEADERS:
        return _DEFAULT_ALLOWED
    if not all(_TOKEN.match(n) for n in names):
        return _DEFAULT_ALLOWED
    lowered = {n.lower() for n in names}
    return b", ".join(sorted(lowered | {_DEFAULT_ALLOWED}))


def preflight(request_headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Headers (beyond COMMON) of the 204 answer to a CORS preflight: the methods, and the
    headers the browser asks for (Umami's tracker sends ``x-umami-cache`` with JSON)."""
    requested = b""
    for name, value in request_headers:
        if name == b"access-control-request-headers":
            requested = value
    return [(b"access-control-allow-headers", _allowed_headers(requested)), *_PREFLIGHT]
