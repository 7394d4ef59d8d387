"""The batch's writes: one function per table, each with its SQL as a module constant.

`write_batch` runs them in order inside the batch's transaction (pipeline._run_txn calls it
as `writers.write_batch`, so a test can replace it to make a batch fail at write time).
Multi-row INSERTs and upserts go through sqlbatch.insert_rows (the statement's head, then
"VALUES (…),(…)", then its tail); executemany statements are complete.
"""

from __future__ import annotations

import json
from collections import Counter

from web.analytics import caches, steps
from web.analytics.fingerprints import error_type, group_csp, group_error
from web.analytics.issues import IssueItem, issues_record
from web.analytics.records import SEP, SESSION_COLS, Rec, session_row
from web.analytics.rollupcount import Batch, expand_groups
from web.analytics.sqlbatch import insert_rows
from web.analytics.timefmt import day_str, hour_str, ts_str

INSERT_EVENTS = (
    "INSERT INTO analytics_event (event_id, site_id, ts, kind, name, hostname, path, "
    "visitor_id, session_id, referrer, source, medium, utm_campaign, country, device, "
    "browser, os, screen, lang, engaged_ms, scroll, props)"
)
INSERT_DROPPED = (
    "INSERT OR IGNORE INTO analytics_droppedevent (event_id, site_id, ts, step, reason)"
)
INSERT_DEDUPE_KEYS = "INSERT INTO analytics_dedupekey (key, stored_at)"
INSERT_SESSIONS = f"INSERT INTO analytics_session ({SESSION_COLS})"
INSERT_SESSIONS_TAIL = "ON CONFLICT(id) DO UPDATE SET last_seen=excluded.last_seen"
UPDATE_SESSIONS = (
    "UPDATE analytics_session SET visitor_id=?, last_seen=?, exit_path=?, pageviews=?, "
    "events=?, errors=?, duration_ms=?, is_bounce=?, active_hour=? WHERE id=?"
)
UPSERT_ROLLUP = (
    "INSERT INTO analytics_rollup (site_id, hour, dim, value, pageviews, events, "
    "visitors, visitors_day, sessions, bounces, duration_ms)"
)
UPSERT_ROLLUP_TAIL = (
    "ON CONFLICT(site_id, dim, hour, value) DO UPDATE SET "
    "pageviews=pageviews+excluded.pageviews, events=events+excluded.events, "
    "visitors=visitors+excluded.visitors, visitors_day=visitors_day+excluded.visitors_day, "
    "sessions=sessions+excluded.sessions, bounces=bounces+excluded.bounces, "
    "duration_ms=duration_ms+excluded.duration_ms"
)
UPSERT_SESSIONS_HOURLY = (
    "INSERT INTO analytics_sessionshourly (site_id, hour, started, active, pageviews, "
    "events, errors, visitors, visitors_day, bounces, duration_ms) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(site_id, hour) DO UPDATE SET "
    "started=started+excluded.started, active=active+excluded.active, "
    "pageviews=pageviews+excluded.pageviews, events=events+excluded.events, "
    "errors=errors+excluded.errors, visitors=visitors+excluded.visitors, "
    "visitors_day=visitors_day+excluded.visitors_day, bounces=bounces+excluded.bounces, "
    "duration_ms=duration_ms+excluded.duration_ms"
)
UPSERT_DAILY_COUNTERS = (
    "INSERT INTO analytics_dailycounter (site_id, day, name, count) VALUES (?,?,?,?) "
    "ON CONFLICT(site_id, day, name) DO UPDATE SET count=count+excluded.count"
)


def write_batch(cur, b: Batch, stored: list[Rec]) -> None:
    """Write everything a batch changed except issues: raw events, drops, dedupe keys,
    sessions, the visitor-state journal row, rollups, the hourly graph, daily counters.
    Also fills `b.res.live` (the live feed's numbers). Raises on database errors."""
    write_events(cur, b, stored)
    write_dropped(cur, b)
    write_dedupe_keys(cur, b)
    write_sessions(cur, b)
    caches.STATES.visitors.append(cur, [b.states[v] for v in b.dirty_states], b.now)
    expand_groups(b)
    write_rollups(cur, b)
    write_sessions_hourly(cur, b)
    write_daily_counters(cur, b)


def write_events(cur, b: Batch, stored: list[Rec]) -> None:
    """The stored events into analytics_event; their received/stored counters and the live
    feed's numbers into the batch."""
    rows = []
    live: dict[int, dict] = b.res.live
    per_day: Counter[tuple[int, int]] = Counter()
    for r in stored:
        s = r.session
        if s is not None:
            source, medium, referrer, campaign, sid = s.source, s.medium, s.referrer, s.utm[2], s.id
            # the event that started its session: the start's text is the event's (0.5 us)
            ts = s.started_str if r.ts == s.started else ts_str(r.ts)
        else:
            ts = ts_str(r.ts)
            source, medium, referrer = steps.classify(r.url, r.ref_host)
            campaign, sid = r.url.utm[2], 0
        rows.append(
            (
                r.eid, r.site, ts, r.kind, r.name, r.url.host, r.url.path, r.vid, sid,
                referrer, source, medium, campaign, r.country, r.device, r.browser, r.os,
                r.screen, r.lang, r.engaged, r.scroll,
                json.dumps(r.props, separators=(",", ":")) if r.props else "{}",
            )
        )  # fmt: skip
        per_day[(r.site, r.day)] += 1
        lv = live.get(r.site)
        if lv is None:
            lv = live[r.site] = {"pageviews": 0, "events": 0, "errors": 0, "pages": {},
                                 "countries": Counter(), "visitors_now": 0}  # fmt: skip
        if r.kind == "pageview":
            lv["pageviews"] += 1
            lv["pages"][r.url.path] = r.ts
            if r.country:
                lv["countries"][r.country] += 1
        elif r.kind == "custom":
            lv["events"] += 1
        elif r.kind in ("error", "csp"):
            lv["errors"] += 1
    for (site, day), n in per_day.items():
        b.counters[(site, day, "received")] += n
        b.counters[(site, day, "stored")] += n
    insert_rows(cur, INSERT_EVENTS, rows)


def write_dropped(cur, b: Batch) -> None:
    insert_rows(cur, INSERT_DROPPED, b.dropped_rows)


def write_dedupe_keys(cur, b: Batch) -> None:
    """The units stored: their keys make a redelivery a no-op (see pipeline._already_seen)."""
    stamp = ts_str(b.now)
    insert_rows(cur, INSERT_DEDUPE_KEYS, [(k, stamp) for k in b.keys])


def write_sessions(cur, b: Batch) -> None:
    """New sessions: a full insert (a redelivered batch never gets here: deduped before).
    Existing ones: only the columns an event can change."""
    if not b.dirty_sessions:
        return
    new = b.new_sessions
    insert_rows(
        cur,
        INSERT_SESSIONS,
        [session_row(b.sessions[i]) for i in b.dirty_sessions if i in new],
        INSERT_SESSIONS_TAIL,
    )
    cur.executemany(
        UPDATE_SESSIONS,
        [
            (s.vid, ts_str(s.last_seen), s.exit, s.pageviews, s.events, s.errors,
             s.duration, int(s.is_bounce), hour_str(s.active_hour), s.id)
            for s in (b.sessions[i] for i in b.dirty_sessions if i not in new)
        ],
    )  # fmt: skip


def write_rollups(cur, b: Batch) -> None:
    """The rollup rows (after expand_groups) added to analytics_rollup; all-zero rows skipped."""
    if not b.roll:
        return
    insert_rows(
        cur,
        UPSERT_ROLLUP,
        [
            (site, hour_str(h), dim, value[:500], *vals)
            for (site, h, key), vals in b.roll.items()
            for dim, value in (key.split(SEP, 1),)
            if any(vals)
        ],
        UPSERT_ROLLUP_TAIL,
    )


def write_sessions_hourly(cur, b: Batch) -> None:
    if b.graph:
        cur.executemany(
            UPSERT_SESSIONS_HOURLY,
            [(site, hour_str(h), *vals) for (site, h), vals in b.graph.items()],
        )


def write_daily_counters(cur, b: Batch) -> None:
    if b.counters:
        cur.executemany(
            UPSERT_DAILY_COUNTERS,
            [(site, day_str(d), name, n) for (site, d, name), n in b.counters.items()],
        )


def write_issues(cur, b: Batch) -> None:
    """Group the batch's errors into issues; the new and reopened issue ids go in b.res."""
    if b.errors:
        new, reopened = issues_record(cur, [issue_item(r) for r in b.errors])
        b.res.new_issues, b.res.reopened_issues = new, reopened


def issue_item(r: Rec) -> IssueItem:
    """An error or CSP event as an occurrence for issues_record."""
    err = r.error
    s = r.session
    if r.kind == "csp":
        grouping = group_csp(err)
        kind, stack, message = "csp", "", grouping.message
    else:
        message = str(err.get("message") or r.name or "")[:2000]
        stack = str(err.get("stack") or "")[:8000]
        default = r.name if r.name not in ("", "error") else "Error"
        type_ = str(err.get("type") or error_type(message, default))
        where = str(err.get("source") or r.url.path)
        grouping = group_error(kind="js", type_=type_, message=message, stack=stack, where=where)
        kind = "js"
    extra = {k: str(v)[:300] for k, v in err.items() if k not in ("message", "stack")}
    return IssueItem(
        site=r.site, kind=kind, grouping=grouping, event_id=r.eid, ts=r.ts,
        session_id=s.id if s is not None else 0, url=r.url.path, message=message, stack=stack,
        browser=r.browser, os=r.os, extra=extra,
    )  # fmt: skip
