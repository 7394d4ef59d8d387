"""Sessionization: each event, in time order, joins its visitor's open session or starts a
new one, and adds to the batch's rollup counters (rollupcount.py).

Session-level counters (started, sessions, bounces, engaged time) live in the session's
start hour; unique visitors are counted once per key per hour and per UTC day, through the
visitor state's seen sets (see analytics.md).
"""

from __future__ import annotations

from web.analytics import goals, steps
from web.analytics.caches import CACHE
from web.analytics.records import SEP, SESSION_TIMEOUT, Rec, Sess, key_id
from web.analytics.rollupcount import (
    BOUNCES,
    DURATION_MS,
    EVENTS,
    G_ACTIVE,
    G_BOUNCES,
    G_DURATION_MS,
    G_ERRORS,
    G_EVENTS,
    G_PAGEVIEWS,
    G_STARTED,
    PAGEVIEWS,
    SESSIONS,
    VISITORS,
    VISITORS_DAY,
    Batch,
    count,
    count_group,
    pairs,
)
from web.analytics.timefmt import ts_str
from web.analytics.visitorstates import VState

_NO_UTM = steps.NO_UTM  # identity matters: parse_url returns this object when no UTM


def new_session(b: Batch, st: VState, rec: Rec) -> Sess:
    """Start a session with `rec` as its first event and count it in its start hour."""
    s = Sess()
    s.id = steps.session_id_for(rec.vid, rec.ts)
    s.site, s.vid = rec.site, rec.vid
    s.started = s.last_seen = rec.ts
    s.started_str = ts_str(rec.ts)
    s.start_hour = rec.hour
    s.active_hour = -1
    s.entry = rec.url.path
    s.exit = ""
    s.pageviews = s.events = s.errors = s.duration = 0
    s.is_bounce = True
    s.source, s.medium, s.referrer = steps.classify(rec.url, rec.ref_host)
    s.utm = rec.url.utm
    s.click = rec.url.click_id
    s.country, s.device, s.browser, s.os = rec.country, rec.device, rec.browser, rec.os
    s.set_dims()
    b.sessions[s.id] = s
    b.new_sessions.add(s.id)
    st.session_id = s.id
    # Session-level counters live in the start hour (see analytics.md).
    site, h = s.site, s.start_hour
    g = b.g(site, h)
    g[G_STARTED] += 1
    g[G_BOUNCES] += 1
    row = b.r(site, h, "entry" + SEP + s.entry)
    row[SESSIONS] += 1
    row[BOUNCES] += 1
    row = b.gr(site, h, s.group)
    row[SESSIONS] += 1
    row[BOUNCES] += 1
    return s


def unbounce(b: Batch, s: Sess) -> None:
    """A session's second interaction: it is no longer a bounce."""
    s.is_bounce = False
    site, h = s.site, s.start_hour
    b.g(site, h)[G_BOUNCES] -= 1
    b.r(site, h, "entry" + SEP + s.entry)[BOUNCES] -= 1
    b.gr(site, h, s.group)[BOUNCES] -= 1


def sessionize(b: Batch, rec: Rec) -> None:
    """Put `rec` in its visitor's session and count it. Raises Drop("session", "no_session")
    for an engagement event without an open session."""
    st = b.states.get(rec.vid)
    if st is None:
        st = b.states[rec.vid] = VState(rec.vid, rec.site)
        if rec.prev_vid:
            # After midnight the visitor id changes; yesterday's id finds the open session.
            prev = b.states.get(rec.prev_vid)
            if prev is not None and prev.session_id and rec.ts - prev.last_seen <= SESSION_TIMEOUT:
                st.session_id = prev.session_id
    s = b.sessions.get(st.session_id) if st.session_id else None
    is_open = s is not None and rec.ts - s.last_seen <= SESSION_TIMEOUT
    url = rec.url
    if (
        is_open
        and (url.utm is not _NO_UTM or url.click_id)
        and (url.utm, url.click_id) != (s.utm, s.click)
    ):
        is_open = False  # a campaign change starts a new session
    kind = rec.kind
    if not is_open:
        if kind == "engagement":
            raise steps.Drop("session", "no_session")
        s = None if kind in ("error", "csp") else new_session(b, st, rec)
    # unique-counting windows (an event later than the window opens a new one)
    if rec.hour > st.hour:
        st.hour = rec.hour
        st.seen_hour = set()
    if rec.day > st.day:
        st.day = rec.day
        st.seen_day = set()
    if rec.ts > st.last_seen:
        st.last_seen = rec.ts
    b.dirty_states.add(st.vid)
    rec.session = s
    site, h = rec.site, rec.hour
    g = b.g(site, h)
    if s is not None:
        b.dirty_sessions.add(s.id)
        if rec.ts > s.last_seen:
            s.last_seen = rec.ts
        if s.vid != rec.vid:
            s.vid = rec.vid  # continued across midnight under today's id
        if s.active_hour != h:
            s.active_hour = h
            g[G_ACTIVE] += 1
    path = url.path
    if kind == "pageview":
        s.pageviews += 1
        if s.pageviews == 1:
            # entry visitors: counted with the session's first pageview, in the start hour
            key = "entry" + SEP + s.entry
            row = b.r(site, s.start_hour, key)
            kid = key_id(key)
            if rec.hour == st.hour and kid not in st.seen_hour:
                st.seen_hour.add(kid)
                row[VISITORS] += 1
            if rec.day == st.day and kid not in st.seen_day:
                st.seen_day.add(kid)
                row[VISITORS_DAY] += 1
        elif s.is_bounce:
            unbounce(b, s)
        if s.exit != path:
            if s.exit:
                b.r(site, s.start_hour, "exit" + SEP + s.exit)[SESSIONS] -= 1
            b.r(site, s.start_hour, "exit" + SEP + path)[SESSIONS] += 1
            s.exit = path
        key = "page" + SEP + path
        count(b, st, rec, [(key, key_id(key))], PAGEVIEWS)
        count_group(b, st, rec, s.group, PAGEVIEWS)
        g[G_PAGEVIEWS] += 1
        site_goals = CACHE.goals.get(site)
        if site_goals:
            hits = [
                "goal" + SEP + name
                for name, gkind, pattern in site_goals
                if gkind == "page" and goals.path_matches(pattern, path)
            ]
            if hits:
                count(b, st, rec, pairs(hits), EVENTS)
    elif kind == "custom":
        s.events += 1
        if s.is_bounce:
            unbounce(b, s)
        key = "event" + SEP + rec.name
        count(b, st, rec, [(key, key_id(key))], EVENTS)
        count_group(b, st, rec, s.group, EVENTS)
        g[G_EVENTS] += 1
        site_goals = CACHE.goals.get(site)
        if site_goals:
            hits = [
                "goal" + SEP + name
                for name, gkind, pattern in site_goals
                if gkind == "event" and goals.event_matches(pattern, rec.name)
            ]
            if hits:
                count(b, st, rec, pairs(hits), EVENTS)
    elif kind == "engagement":
        ms = rec.engaged
        if ms:
            s.duration += ms
            sh = s.start_hour
            b.g(site, sh)[G_DURATION_MS] += ms
            b.r(site, sh, "entry" + SEP + s.entry)[DURATION_MS] += ms
            b.gr(site, sh, s.group)[DURATION_MS] += ms
            b.r(site, h, "page" + SEP + path)[DURATION_MS] += ms
    else:  # error, csp
        g[G_ERRORS] += 1
        if s is not None:
            s.errors += 1
        b.errors.append(rec)
