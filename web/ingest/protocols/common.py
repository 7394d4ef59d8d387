"""What every protocol parser shares: the request it may look at, and small helpers.

Parsers are pure (no I/O, no site lookups) so they are table-tested and fuzzed directly.
Site resolution, the allow-list and drop rules come after, in pipeline.py, for every format.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from web.ingest.errors import BadInput

PAGEVIEW = "pageview"


@dataclass(frozen=True, slots=True)
class Incoming:
    """What a parser may look at: method, query, body and two headers."""

    method: str
    query: str = ""
    body: bytes = b""
    content_type: str = ""
    referer: str = ""
    origin: str = ""

    def params(self) -> dict[str, str]:
        """Query parameters, first value wins."""
        try:
            parsed = parse_qs(self.query, keep_blank_values=True, max_num_fields=40)
        except ValueError as exc:
            raise BadInput("too many query parameters") from exc
        return {k: vals[0] for k, vals in parsed.items()}


def kind_for(name: str) -> str:
    if name == PAGEVIEW:
        return "pageview"
    if name == "engagement":
        return "engagement"
    return "custom"


def origin_of(req: Incoming) -> str:
    """scheme://host of the page, from Origin or Referer ('' when neither is usable)."""
    for raw in (req.origin, req.referer):
        if raw and raw != "null":
            try:
                parts = urlsplit(raw)
            except ValueError:
                continue
            if parts.scheme in ("http", "https") and parts.hostname:
                return f"{parts.scheme}://{parts.netloc}"
    return ""
