"""The record types of the analytics batch pipeline (see pipeline.py for the order of work).

`Rec` is one event being enriched, `Sess` an open session (a row of analytics_session),
`DimGroup` the rollup keys a session's events count under, `BatchResult` what one batch did.
Visitor states (`VState`) live in visitorstates.py.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from web.analytics.timefmt import HOUR, hour_str, parse_ts, ts_str

SESSION_TIMEOUT = 30 * 60
SEP = "\x1f"  # between a rollup key's dim and value: "page\x1f/about"

# Seen sets hold 32-bit CRCs of the rollup keys (packed uint32 in the state journal: 4 bytes a
# key instead of ~20). A collision (~1e-6 per visitor-day) undercounts one unique by one.
_key_ids: dict[str, int] = {}


def key_id(key: str) -> int:
    kid = _key_ids.get(key)
    if kid is None:
        if len(_key_ids) > 200_000:
            _key_ids.clear()
        kid = _key_ids[key] = zlib.crc32(key.encode())
    return kid


class Rec:
    """One event being enriched."""

    __slots__ = (
        "browser",
        "country",
        "day",
        "device",
        "eid",
        "engaged",
        "error",
        "hour",
        "kind",
        "lang",
        "name",
        "os",
        "p",
        "prev_vid",
        "props",
        "ref_host",
        "screen",
        "scroll",
        "session",
        "site",
        "ts",
        "url",
        "vid",
    )  # fmt: skip


class DimGroup:
    """The rollup keys every event of a session counts under, besides its page or event
    name: source, medium, referrer, UTM, country, device, browser, OS, and the site-wide
    visitor key "". Sessions with the same attributes share one group.

    Events add to the group's counters once (`Batch.gr`), expanded into each key's rollup
    row when the batch is written: one counter update per event instead of one per key. Its
    id `gid` joins the key ids in a visitor's seen sets: when present, the visitor was
    counted under every key of the group in that window.
    """

    __slots__ = ("gid", "keys", "kids", "pairs")

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.pairs = [(key, key_id(key)) for key in keys]
        self.kids = frozenset(kid for _, kid in self.pairs)
        self.gid = zlib.crc32(("group" + SEP + "\x1e".join(keys)).encode())


_groups: dict[tuple[str, ...], DimGroup] = {}


def dim_group(values: tuple[str, ...]) -> DimGroup:
    """The shared group of a session's attribute values (in GROUP_DIMS order)."""
    g = _groups.get(values)
    if g is None:
        if len(_groups) > 100_000:
            _groups.clear()
        keys = [d + SEP + v for d, v in zip(GROUP_DIMS, values, strict=True) if v]
        g = _groups[values] = DimGroup([*keys, ""])
    return g


GROUP_DIMS = ("source", "medium", "referrer", "utm_source", "utm_medium", "utm_campaign",
              "country", "device", "browser", "os")  # fmt: skip


class Sess:
    """An open session as the pipeline sees it (a row of analytics_session)."""

    __slots__ = (
        "active_hour", "browser", "click", "country", "device", "duration", "entry",
        "errors", "events", "exit", "group", "id", "is_bounce", "last_seen", "medium", "os",
        "pageviews", "referrer", "site", "source", "start_hour", "started", "started_str", "utm",
        "vid",
    )  # fmt: skip

    def set_dims(self) -> None:
        """Find the session's DimGroup."""
        u = self.utm
        self.group = dim_group(
            (self.source, self.medium, self.referrer, u[0], u[1], u[2], self.country,
             self.device, self.browser, self.os)
        )  # fmt: skip


# The columns of analytics_session, in the order of session_row and session_from_row.
SESSION_COLS = (
    "id, site_id, visitor_id, started_at, last_seen, entry_path, exit_path, pageviews, events, "
    "errors, duration_ms, is_bounce, source, medium, referrer, utm_source, utm_medium, "
    "utm_campaign, utm_term, utm_content, click_id, country, device, browser, os, active_hour"
)


def session_row(s: Sess) -> tuple:
    """A session as a row of SESSION_COLS."""
    last = s.started_str if s.last_seen == s.started else ts_str(s.last_seen)  # a new session
    return (
        s.id, s.site, s.vid, s.started_str, last, s.entry, s.exit,
        s.pageviews, s.events, s.errors, s.duration, int(s.is_bounce), s.source, s.medium,
        s.referrer, *s.utm, s.click, s.country, s.device, s.browser, s.os,
        hour_str(s.active_hour),
    )  # fmt: skip


def session_from_row(row: tuple) -> Sess:
    """A session from a row of SESSION_COLS."""
    s = Sess()
    (s.id, s.site, s.vid, started, last, s.entry, s.exit, s.pageviews, s.events, s.errors,
     s.duration, bounce, s.source, s.medium, s.referrer, u1, u2, u3, u4, u5, s.click,
     s.country, s.device, s.browser, s.os, active) = row  # fmt: skip
    s.started = parse_ts(started)
    s.started_str = ts_str(s.started)
    s.last_seen = parse_ts(last)
    s.is_bounce = bool(bounce)
    s.utm = (u1, u2, u3, u4, u5)
    s.start_hour = int(s.started // HOUR)
    s.active_hour = int(parse_ts(active) // HOUR)
    s.set_dims()
    return s


@dataclass
class BatchResult:
    """What one batch did. `dropped` maps "step:reason" to a count."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    new_issues: list[int] = field(default_factory=list)
    reopened_issues: list[int] = field(default_factory=list)
    live: dict[int, dict] = field(default_factory=dict)
