"""Which parser answers which ingest path, and the CORS headers every answer carries.

Kept apart from handler.py so that adding a wire format (a path and its parser) does not
touch the request handling: the handler looks the path up here and runs the parser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from web.ingest import parsers
from web.ingest.protocols.common import Incoming


@dataclass(frozen=True)
class Route:
    """``reply`` encodes the 202 body from the handler's result dict
    (``{"ok": True, "accepted": n[, "dropped": reason]}``); None means that dict as JSON."""

    parser: Callable[[Incoming], Any]
    methods: frozenset[str]
    gif: bool = False
    reply: Callable[[dict[str, Any]], bytes] | None = None


POST = frozenset({"POST"})
ROUTES: dict[str, Route] = {
    "/ingest/e": Route(parsers.parse_native, POST),
    "/api/event": Route(parsers.parse_plausible, POST),
    "/api/send": Route(parsers.parse_umami_send, POST),
    "/api/batch": Route(parsers.parse_umami_batch, POST),
    "/count": Route(parsers.parse_goatcounter, frozenset({"GET", "POST"}), gif=True),
    "/ingest/p.gif": Route(parsers.parse_pixel, frozenset({"GET"}), gif=True),
    "/ingest/report": Route(parsers.parse_reports, POST),
}

# Path prefixes answered by the ingest app, so that an unknown path under one of them gets
# a JSON 404 from the handler instead of Django's HTML page.
PREFIXES: tuple[str, ...] = ()

COMMON = [
    (b"cache-control", b"no-store"),
    (b"access-control-allow-origin", b"*"),
    (b"x-content-type-options", b"nosniff"),
]
_PREFLIGHT = [
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type"),
    (b"access-control-max-age", b"86400"),
]


def preflight(request_headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Headers (beyond COMMON) of the 204 answer to a CORS preflight."""
    return list(_PREFLIGHT)
