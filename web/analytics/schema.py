"""The analytics event as it travels from ingest to the worker (job type `analytics.event`).

Ingest (web/ingest) validates a beacon from any supported wire format (native tracker,
Plausible, Umami, GoatCounter, pixel, CSP/Reporting API) into this one shape, stamps it,
and publishes it; the worker (web/analytics) enriches and stores it. Keys are short because
this is the hottest message in the system. The raw IP travels only inside the job and is
never stored (the worker turns it into a salted visitor id and a country).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict, get_args

EventKind = Literal["pageview", "custom", "engagement", "error", "csp"]
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))  # for run-time checks


class AnalyticsEvent(TypedDict):
    v: int  # schema version, 1
    site: int  # Site.id
    kind: EventKind
    name: str  # "pageview", custom event name, or error type
    url: str  # full page URL as sent (path normalised by the worker)
    ref: str  # referrer URL or ""
    ts: float  # receive time, unix seconds (stamped by ingest, not the client)
    ip: str  # client IP (socket, or trusted proxy header when configured)
    ua: str  # User-Agent header
    props: NotRequired[dict[str, str]]  # custom event props (str → str, bounded)
    screen: NotRequired[int]  # viewport width in px
    lang: NotRequired[str]
    title: NotRequired[str]
    engaged_ms: NotRequired[int]  # engagement events: visible time on page
    scroll: NotRequired[int]  # engagement events: max scroll depth, percent
    error: NotRequired[dict[str, str]]  # error/csp: {"message", "stack", "source", ...}
    src: NotRequired[str]  # wire format it came in: "hearth", "plausible", "umami", ...


SCHEMA_VERSION = 1
