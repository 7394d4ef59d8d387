"""The analytics worker's batch pipeline: enrich, sessionize, roll up, store. One transaction.

Order of work for one fetched batch (see docs/architecture/analytics.md):
1. validate every payload and give it its dedupe key (job id, or job id + index);
2. BEGIN IMMEDIATE; skip event ids already stored or already dropped (redelivery);
3. enrichment steps: visitor id, UA, country, referrer/campaign (each may Drop);
4. catch up with the visitor-state journal (web/analytics/visitorstates.py), take the batch's
   visitors' states from memory and load their open sessions not cached (one query);
5. sessionize in time order and aggregate rollup deltas in memory;
6. write raw events, sessions and rollups (multi-row INSERTs and upserts, sqlbatch.py), the
   hourly graph and daily counters (executemany upserts), one journal row of the changed
   visitor states, group errors into issues; COMMIT.
The caller acks only after this returns. Everything lives in data.db, so a crash before
COMMIT leaves no trace and a crash after it is deduped on redelivery.
"""

from __future__ import annotations

import gc
import hashlib
import json
import secrets
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field

from django.db import connections, transaction

from web.analytics import metrics, steps
from web.analytics.fingerprints import error_type, group_csp, group_error
from web.analytics.issues import IssueItem, issues_record
from web.analytics.sqlbatch import insert_rows
from web.analytics.timefmt import DAY, HOUR, day_str, hour_str, parse_ts, ts_str
from web.analytics.visitorstates import StateStore, VState

SESSION_TIMEOUT = 30 * 60
CACHE_TTL = 30.0
DB = "default"
_NO_UTM = steps.NO_UTM  # identity matters: parse_url returns this object when no UTM
_SEP = "\x1f"

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


# --- small helpers ----------------------------------------------------------------------


def content_id(p: dict) -> str:
    """Deterministic dedupe key for a payload that came without a job id."""
    raw = json.dumps(p, sort_keys=True, separators=(",", ":"), default=str)
    return "c:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


# --- caches of small, slowly changing tables ---------------------------------------------


class _Cache:
    def __init__(self) -> None:
        self.sites: set[int] = set()
        self.goals: dict[int, list[tuple[str, str, str]]] = {}
        self.loaded_at = -1e9
        self.salts: dict[int, bytes] = {}

    def refresh(self, cur, now: float, force: bool = False) -> None:
        if not force and now - self.loaded_at < CACHE_TTL:
            return
        self.sites = {r[0] for r in cur.execute("SELECT id FROM analytics_site")}
        goals: dict[int, list[tuple[str, str, str]]] = {}
        for site, name, kind, match in cur.execute(
            "SELECT site_id, name, kind, match FROM analytics_goal"
        ):
            goals.setdefault(site, []).append((name, kind, match))
        self.goals = goals
        self.loaded_at = now


CACHE = _Cache()


def reset_caches() -> None:
    """Forget cached sites, goals, salts, states and sessions (tests, admin changes); states
    are then rebuilt from the journal."""
    CACHE.loaded_at = -1e9
    CACHE.salts.clear()
    STATES.clear()


def salts_for(cur, today: int, now: float) -> dict[int, bytes]:
    """Today's and yesterday's salts, creating them on first use and deleting salts older
    than 48 h when today's is created. Race-safe across workers: INSERT OR IGNORE, then
    read back."""
    if today in CACHE.salts and (today - 1) in CACHE.salts:
        return CACHE.salts
    # Yesterday's too: a late event from yesterday (the worker was down at midnight, or this
    # is its first run) has a salt to hash with instead of being dropped as stale.
    cur.execute(
        "INSERT OR IGNORE INTO analytics_salt(day, value, created_at) VALUES (?, ?, ?)",
        (day_str(today - 1), secrets.token_bytes(32), ts_str(now)),
    )
    cur.execute(
        "INSERT OR IGNORE INTO analytics_salt(day, value, created_at) VALUES (?, ?, ?)",
        (day_str(today), secrets.token_bytes(32), ts_str(now)),
    )
    if cur.rowcount:
        cur.execute("DELETE FROM analytics_salt WHERE day < ?", (day_str(today - 1),))
    salts = {}
    for day, value in cur.execute(
        "SELECT day, value FROM analytics_salt WHERE day >= ?", (day_str(today - 1),)
    ):
        salts[int(parse_ts(day)) // DAY] = bytes(value)
    CACHE.salts = salts
    return salts


# --- records and state ------------------------------------------------------------------


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

    Events add to the group's counters once (`_Batch.gr`), expanded into each key's rollup
    row when the batch is written: one counter update per event instead of one per key. Its
    id `gid` joins the key ids in a visitor's seen sets: when present, the visitor was
    counted under every key of the group in that window.
    """

    __slots__ = ("gid", "keys", "kids", "pairs")

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.pairs = [(key, key_id(key)) for key in keys]
        self.kids = frozenset(kid for _, kid in self.pairs)
        self.gid = zlib.crc32(("group" + _SEP + "\x1e".join(keys)).encode())


_groups: dict[tuple[str, ...], DimGroup] = {}


def dim_group(values: tuple[str, ...]) -> DimGroup:
    """The shared group of a session's attribute values (in _GROUP_DIMS order)."""
    g = _groups.get(values)
    if g is None:
        if len(_groups) > 100_000:
            _groups.clear()
        keys = [d + _SEP + v for d, v in zip(_GROUP_DIMS, values, strict=True) if v]
        g = _groups[values] = DimGroup([*keys, ""])
    return g


_GROUP_DIMS = ("source", "medium", "referrer", "utm_source", "utm_medium", "utm_campaign",
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


# --- the pipeline -----------------------------------------------------------------------


class _Batch:
    def __init__(self, now: float) -> None:
        self.now = now
        self.res = BatchResult()
        # (site, hour, "dim\x1fvalue") -> [pageviews, events, visitors, visitors_day, sessions,
        #                                  bounces, duration_ms]
        self.roll: dict[tuple[int, int, str], list[int]] = {}
        # (site, hour, DimGroup) -> the same 7 columns, for each key of the group
        self.groups: dict[tuple[int, int, DimGroup], list[int]] = {}
        # (site, hour) -> [started, active, pageviews, events, errors, visitors, visitors_day,
        #                  bounces, duration_ms]
        self.graph: dict[tuple[int, int], list[int]] = {}
        self.counters: Counter[tuple[int, int, str]] = Counter()
        self.dropped_rows: list[tuple] = []
        self.keys: list[str] = []  # dedupe keys of the units this batch stores
        self.errors: list[Rec] = []
        self.sessions: dict[int, Sess] = {}
        self.dirty_sessions: set[int] = set()
        self.new_sessions: set[int] = set()
        self.states: dict[int, VState] = {}
        self.dirty_states: set[int] = set()

    # counters
    def drop(self, d: steps.Drop, eid: str, p: dict, site_known: bool) -> None:
        key = f"{d.step}:{d.reason}"
        self.res.dropped[key] = self.res.dropped.get(key, 0) + 1
        metrics.DROPPED.labels(d.step, d.reason).inc()
        if site_known:
            ts = float(p["ts"])
            self.counters[(p["site"], int(ts // DAY), "received")] += 1
            self.counters[(p["site"], int(ts // DAY), f"dropped:{key}")] += 1
            self.dropped_rows.append((eid, p["site"], ts_str(ts), d.step, d.reason))

    def r(self, site: int, hour: int, key: str) -> list[int]:
        k = (site, hour, key)
        row = self.roll.get(k)
        if row is None:
            row = self.roll[k] = [0, 0, 0, 0, 0, 0, 0]
        return row

    def gr(self, site: int, hour: int, group: DimGroup) -> list[int]:
        k = (site, hour, group)
        row = self.groups.get(k)
        if row is None:
            row = self.groups[k] = [0, 0, 0, 0, 0, 0, 0]
        return row

    def g(self, site: int, hour: int) -> list[int]:
        k = (site, hour)
        row = self.graph.get(k)
        if row is None:
            row = self.graph[k] = [0, 0, 0, 0, 0, 0, 0, 0, 0]
        return row


def process_batch(
    *,
    payloads: list[dict],
    job_ids: list[str] | None = None,
    now: float | None = None,
    pack_sizes: list[int] | None = None,
) -> BatchResult:
    """Enrich and store a batch in one data.db transaction; idempotent under redelivery.

    Dedupe is by unit: a unit already stored is skipped whole. Without `pack_sizes` each
    payload is a unit and `job_ids[i]` its key (without job ids, the payload's own "id",
    else a content hash); the key is also the event id. With `pack_sizes`, `job_ids[k]` is
    the key of pack k, which holds the next `pack_sizes[k]` payloads, and event j of it is
    stored as "<key>:<j>". Returns counts; raises only on database errors, in which case
    nothing was written and the batch should be redelivered.
    """
    now = time.time() if now is None else now
    b = _Batch(now)
    b.res.received = len(payloads)
    conn = connections[DB]
    with _ONE_BATCH_AT_A_TIME:
        # The batch allocates ~10 small objects per event and frees them all at the end;
        # the cyclic GC would scan them many times over for nothing (see _gc_after_batch).
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            try:
                stored = _run_txn(conn, b, _units(payloads, job_ids, pack_sizes), now)
            except BaseException:
                STATES.clear()  # memory may hold this batch's uncommitted changes
                CACHE.salts.clear()
                raise
            STATES.keep(b, now)
            for site, lv in b.res.live.items():
                lv["visitors_now"] = STATES.visitors.visitors_now(site, now)
        finally:
            if gc_was_on:
                _gc_after_batch()
                gc.enable()
    b.res.stored = len(stored)
    for kind, n in Counter(rec.kind for rec in stored).items():
        metrics.STORED.labels(kind).inc(n)
    return b.res


# Batches of one process run one at a time (the worker may run two batch threads). The whole
# batch holds SQLite's write lock anyway, and the process-wide state must not change under a
# batch: a failed batch in another thread clears it, visitors_now edits the live window, and
# the GC switch is process-wide. A waiter here is woken at once, where SQLite's busy handler
# sleeps in growing steps (up to 100 ms) between retries.
_ONE_BATCH_AT_A_TIME = threading.Lock()

GC_FULL_EVERY_S = 600.0
_gc_full_at = [-GC_FULL_EVERY_S]


def _gc_after_batch() -> None:
    """Freeze what survived the batch (mostly the state cache) so the collector stops
    rescanning it, with a full collection every GC_FULL_EVERY_S for cycles frozen meanwhile.

    The cache holds up to 200k visitor states and sessions; as they were promoted, full
    collections kept walking them: ~5% of the worker's CPU under ingest load. The pipeline
    makes no reference cycles of its own, so freezing leaks nothing between the sweeps.
    """
    now = time.monotonic()
    if now - _gc_full_at[0] >= GC_FULL_EVERY_S:
        _gc_full_at[0] = now
        gc.unfreeze()
        gc.collect()
    gc.freeze()


_tuned: set[int] = set()


def _units(
    payloads: list[dict], job_ids: list[str] | None, pack_sizes: list[int] | None
) -> list[tuple[str, list[tuple[str, dict]]]]:
    """(dedupe key, [(event id, payload)]) of each unit of a batch, in order."""
    if pack_sizes is None:
        return [
            (eid := str((job_ids[i] if job_ids else "") or p.get("id") or content_id(p))[:80],
             [(eid, p)])
            for i, p in enumerate(payloads)
        ]  # fmt: skip
    if job_ids is None or len(job_ids) != len(pack_sizes) or sum(pack_sizes) != len(payloads):
        raise ValueError("pack_sizes needs one job id per pack and adds up to the payloads")
    units = []
    start = 0
    for key, n in zip(job_ids, pack_sizes, strict=True):
        key = key[:70]  # room for ":<index>" in the 80 characters of an event id
        units.append((key, [(f"{key}:{j}", payloads[start + j]) for j in range(n)]))
        start += n
    return units


def _run_txn(conn, b: _Batch, units: list, now: float) -> list:
    with transaction.atomic(using=DB):
        conn.ensure_connection()
        cur = conn.connection.cursor()
        if id(conn.connection) not in _tuned:
            # A bigger page cache for this connection: rollup, state and session pages
            # are rewritten every batch (SQLite's default is 2 MiB).
            cur.execute("PRAGMA cache_size=-65536")
            _tuned.add(id(conn.connection))
        CACHE.refresh(cur, now)
        # A unit stored before (a redelivery) is skipped whole, drops included.
        seen = _already_seen(cur, [key for key, _ in units])
        items: list[tuple[str, dict]] = []
        for key, events in units:
            if key in seen:
                b.res.duplicates += len(events)
                metrics.DUPLICATES.inc(len(events))
                continue
            seen.add(key)
            b.keys.append(key)
            items += events
        valid: list[tuple[str, dict]] = []
        for eid, p in items:
            try:
                steps.validate(p)
                if p["site"] not in CACHE.sites:
                    CACHE.refresh(cur, now, force=True)
                    if p["site"] not in CACHE.sites:
                        raise steps.Drop("validate", "unknown_site")
            except steps.Drop as d:
                b.drop(d, eid, p, site_known=False)
                continue
            valid.append((eid, p))
        recs: list[Rec] = []
        today = int(now // DAY)
        salts = salts_for(cur, today, now)
        for eid, p in valid:
            try:
                recs.append(_enrich(p, eid, salts, today))
            except steps.Drop as d:
                b.drop(d, eid, p, site_known=True)
        recs.sort(key=lambda r: r.ts)
        _load_state(cur, b, recs)
        stored: list[Rec] = []
        for rec in recs:
            try:
                _sessionize(b, rec)
            except steps.Drop as d:
                b.drop(d, rec.eid, rec.p, site_known=True)
                continue
            stored.append(rec)
        _write(cur, b, stored)
        if b.errors:
            new, reopened = issues_record(cur, [_issue_item(r) for r in b.errors])
            b.res.new_issues, b.res.reopened_issues = new, reopened
    return stored


def _already_seen(cur, keys: list[str]) -> set[str]:
    """The units of this batch that a committed batch already stored."""
    seen: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for (k,) in cur.execute(
            f"SELECT key FROM analytics_dedupekey WHERE key IN ({marks})", chunk
        ):
            seen.add(k)
    return seen


def _enrich(p: dict, eid: str, salts: dict[int, bytes], today: int) -> Rec:
    r = Rec()
    r.p = p
    r.eid = eid
    r.site = site = p["site"]
    r.ts = ts = float(p["ts"])
    r.kind = p["kind"]
    r.name = (p.get("name") or r.kind)[:200]
    r.hour = int(ts // HOUR)
    r.day = day = int(ts // DAY)
    # step: visitor id
    salt = salts.get(day)
    if salt is None or day < today - 1:
        raise steps.Drop("visitor", "stale")
    ip = p.get("ip") or ""
    ua = p.get("ua") or ""
    r.vid = steps.visitor_id(salt, site, ip, ua)
    # Yesterday's id is only needed to continue a session across midnight.
    prev = salts.get(day - 1) if ts - day * DAY < SESSION_TIMEOUT else None
    r.prev_vid = steps.visitor_id(prev, site, ip, ua) if prev is not None else 0
    # step: user agent
    r.browser, r.os, device = steps.ua_step(ua)
    get = p.get
    screen = get("screen")
    r.screen = screen if type(screen) is int else 0
    r.device = steps.device_for(device, screen)
    # step: country
    r.country = steps.country(ip)
    # step: referrer, campaign, path
    r.url = steps.parse_url(get("url") or "")
    r.ref_host = steps.referrer_host(get("ref") or "")
    props = get("props")
    r.props = props if type(props) is dict else None
    engaged = get("engaged_ms")
    r.engaged = engaged if type(engaged) is int and 0 <= engaged <= 86_400_000 else 0
    scroll = get("scroll")
    r.scroll = scroll if type(scroll) is int else 0
    lang = get("lang")
    r.lang = lang[:35] if type(lang) is str else ""
    err = get("error")
    r.error = err if type(err) is dict else {}
    r.session = None
    return r


class _StateCache:
    """This process's visitor states (all live ones, see visitorstates.py) and a cache of open
    sessions, reused across batches.

    Sessions evicted from the cache, or changed by another worker process (seen in the
    journal), are reloaded from analytics_session. Session objects are mutated in place
    during a batch, so any failed batch clears everything.
    """

    MAX = 200_000  # cached sessions

    def __init__(self) -> None:
        self.visitors = StateStore()
        self.sessions: dict[int, Sess] = {}

    def clear(self) -> None:
        self.visitors.clear()
        self.sessions.clear()

    def keep(self, b: _Batch, now: float) -> None:
        self.sessions.update(b.sessions)
        if len(self.sessions) > self.MAX:
            # Down to half of MAX, idle entries first, then the oldest inserted: every entry
            # may be recent (a busy hour), and pruning only by age then left the cache over
            # MAX, so this full scan ran again on every batch.
            horizon = now - 2 * SESSION_TIMEOUT
            self.sessions = _prune(
                {k: v for k, v in self.sessions.items() if v.last_seen >= horizon}
            )


def _prune(d: dict) -> dict:
    keep = _StateCache.MAX // 2
    return d if len(d) <= keep else dict(list(d.items())[-keep:])


STATES = _StateCache()


def _load_state(cur, b: _Batch, recs: list[Rec]) -> None:
    stale = STATES.visitors.sync(cur, b.now)
    cached_sessions = STATES.sessions
    if stale is None:
        cached_sessions.clear()
    else:
        for sid in stale:
            cached_sessions.pop(sid, None)
    get = STATES.visitors.get
    sids: set[int] = set()
    for vid in {v for r in recs for v in (r.vid, r.prev_vid) if v}:
        st = get(vid)
        if st is None:
            continue
        b.states[vid] = st
        sid = st.session_id
        if sid:
            s = cached_sessions.get(sid)
            if s is not None:
                b.sessions[sid] = s
            else:
                sids.add(sid)
    sid_list = list(sids)
    for i in range(0, len(sid_list), 500):
        chunk = sid_list[i : i + 500]
        for row in cur.execute(
            f"SELECT {_SESSION_COLS} FROM analytics_session "
            f"WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            s = _session_from_row(row)
            b.sessions[s.id] = s


_SESSION_COLS = (
    "id, site_id, visitor_id, started_at, last_seen, entry_path, exit_path, pageviews, events, "
    "errors, duration_ms, is_bounce, source, medium, referrer, utm_source, utm_medium, "
    "utm_campaign, utm_term, utm_content, click_id, country, device, browser, os, active_hour"
)


def _session_from_row(row: tuple) -> Sess:
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


def _session_row(s: Sess) -> tuple:
    last = s.started_str if s.last_seen == s.started else ts_str(s.last_seen)  # a new session
    return (
        s.id, s.site, s.vid, s.started_str, last, s.entry, s.exit,
        s.pageviews, s.events, s.errors, s.duration, int(s.is_bounce), s.source, s.medium,
        s.referrer, *s.utm, s.click, s.country, s.device, s.browser, s.os,
        hour_str(s.active_hour),
    )  # fmt: skip


def _new_session(b: _Batch, st: VState, rec: Rec) -> Sess:
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
    g[0] += 1
    g[7] += 1
    row = b.r(site, h, "entry" + _SEP + s.entry)
    row[4] += 1
    row[5] += 1
    row = b.gr(site, h, s.group)
    row[4] += 1
    row[5] += 1
    return s


def _unbounce(b: _Batch, s: Sess) -> None:
    s.is_bounce = False
    site, h = s.site, s.start_hour
    b.g(site, h)[7] -= 1
    b.r(site, h, "entry" + _SEP + s.entry)[5] -= 1
    b.gr(site, h, s.group)[5] -= 1


def _count(b: _Batch, st: VState, rec: Rec, pairs: list[tuple[str, int]], col: int) -> None:
    """Add 1 to column `col` of each (key, key id)'s rollup row in the event's hour, and
    count the visitor once per hour and once per UTC day per key (the hot loop: keep it flat)."""
    roll = b.roll
    site, h = rec.site, rec.hour
    seen_h = st.seen_hour if h == st.hour else _NEVER
    seen_d = st.seen_day if rec.day == st.day else _NEVER
    for key, kid in pairs:
        k = (site, h, key)
        row = roll.get(k)
        if row is None:
            row = roll[k] = [0, 0, 0, 0, 0, 0, 0]
        row[col] += 1
        if kid not in seen_h:
            seen_h.add(kid)
            row[2] += 1
        if kid not in seen_d:
            seen_d.add(kid)
            row[3] += 1


def _count_group(b: _Batch, st: VState, rec: Rec, group: DimGroup, col: int) -> None:
    """_count for every key of a session's DimGroup: one counter update, and per-key work
    only for a visitor counted under some but not all of the group's keys in a window."""
    site, h = rec.site, rec.hour
    row = b.gr(site, h, group)
    row[col] += 1
    gid = group.gid
    for seen, c in (
        (st.seen_hour if h == st.hour else _NEVER, 2),
        (st.seen_day if rec.day == st.day else _NEVER, 3),
    ):
        if gid in seen:
            continue
        if seen.isdisjoint(group.kids):
            row[c] += 1  # the common case: new in this window
            seen.update(group.kids)
        else:
            for key, kid in group.pairs:
                if kid not in seen:
                    seen.add(kid)
                    b.r(site, h, key)[c] += 1
        seen.add(gid)


class _Never(set):
    """A window that is not the event's: everything counts as seen, nothing is added."""

    def __contains__(self, _: object) -> bool:
        return True


_NEVER = _Never()


def _pairs(keys: list[str]) -> list[tuple[str, int]]:
    return [(k, key_id(k)) for k in keys]


def _sessionize(b: _Batch, rec: Rec) -> None:
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
        s = None if kind in ("error", "csp") else _new_session(b, st, rec)
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
            g[1] += 1
    path = url.path
    if kind == "pageview":
        s.pageviews += 1
        if s.pageviews == 1:
            # entry visitors: counted with the session's first pageview, in the start hour
            key = "entry" + _SEP + s.entry
            row = b.r(site, s.start_hour, key)
            kid = key_id(key)
            if rec.hour == st.hour and kid not in st.seen_hour:
                st.seen_hour.add(kid)
                row[2] += 1
            if rec.day == st.day and kid not in st.seen_day:
                st.seen_day.add(kid)
                row[3] += 1
        elif s.is_bounce:
            _unbounce(b, s)
        if s.exit != path:
            if s.exit:
                b.r(site, s.start_hour, "exit" + _SEP + s.exit)[4] -= 1
            b.r(site, s.start_hour, "exit" + _SEP + path)[4] += 1
            s.exit = path
        key = "page" + _SEP + path
        _count(b, st, rec, [(key, key_id(key))], 0)
        _count_group(b, st, rec, s.group, 0)
        g[2] += 1
        goals = CACHE.goals.get(site)
        if goals:
            hits = [
                "goal" + _SEP + name
                for name, gkind, match in goals
                if gkind == "page"
                and (path == match or (match.endswith("*") and path.startswith(match[:-1])))
            ]
            if hits:
                _count(b, st, rec, _pairs(hits), 1)
    elif kind == "custom":
        s.events += 1
        if s.is_bounce:
            _unbounce(b, s)
        key = "event" + _SEP + rec.name
        _count(b, st, rec, [(key, key_id(key))], 1)
        _count_group(b, st, rec, s.group, 1)
        g[3] += 1
        goals = CACHE.goals.get(site)
        if goals:
            hits = [
                "goal" + _SEP + name
                for name, gkind, match in goals
                if gkind == "event" and rec.name == match
            ]
            if hits:
                _count(b, st, rec, _pairs(hits), 1)
    elif kind == "engagement":
        ms = rec.engaged
        if ms:
            s.duration += ms
            sh = s.start_hour
            b.g(site, sh)[8] += ms
            b.r(site, sh, "entry" + _SEP + s.entry)[6] += ms
            b.gr(site, sh, s.group)[6] += ms
            b.r(site, h, "page" + _SEP + path)[6] += ms
    else:  # error, csp
        g[4] += 1
        if s is not None:
            s.errors += 1
        b.errors.append(rec)


def _write(cur, b: _Batch, stored: list[Rec]) -> None:
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
    insert_rows(
        cur,
        "INSERT INTO analytics_event (event_id, site_id, ts, kind, name, hostname, path, "
        "visitor_id, session_id, referrer, source, medium, utm_campaign, country, device, "
        "browser, os, screen, lang, engaged_ms, scroll, props)",
        rows,
    )
    insert_rows(
        cur,
        "INSERT OR IGNORE INTO analytics_droppedevent (event_id, site_id, ts, step, reason)",
        b.dropped_rows,
    )
    # The units stored: their keys make a redelivery a no-op (see _already_seen).
    stamp = ts_str(b.now)
    insert_rows(
        cur, "INSERT INTO analytics_dedupekey (key, stored_at)", [(k, stamp) for k in b.keys]
    )
    if b.dirty_sessions:
        # New sessions: a full insert (a redelivered batch never gets here: deduped above).
        # Existing ones: only the columns an event can change.
        new = b.new_sessions
        insert_rows(
            cur,
            f"INSERT INTO analytics_session ({_SESSION_COLS})",
            [_session_row(b.sessions[i]) for i in b.dirty_sessions if i in new],
            "ON CONFLICT(id) DO UPDATE SET last_seen=excluded.last_seen",
        )
        cur.executemany(
            "UPDATE analytics_session SET visitor_id=?, last_seen=?, exit_path=?, pageviews=?, "
            "events=?, errors=?, duration_ms=?, is_bounce=?, active_hour=? WHERE id=?",
            [
                (s.vid, ts_str(s.last_seen), s.exit, s.pageviews, s.events, s.errors,
                 s.duration, int(s.is_bounce), hour_str(s.active_hour), s.id)
                for s in (b.sessions[i] for i in b.dirty_sessions if i not in new)
            ],
        )  # fmt: skip
    STATES.visitors.append(cur, [b.states[v] for v in b.dirty_states], b.now)
    roll = b.roll
    for (site, h, group), vals in b.groups.items():
        for key in group.keys:
            k = (site, h, key)
            row = roll.get(k)
            if row is None:
                roll[k] = vals.copy()
            else:
                for i, v in enumerate(vals):
                    row[i] += v
    total = b.roll
    for key in [k for k in total if not k[2]]:
        # key "" is the site-wide visitor (the hourly graph's visitors columns)
        vals = total.pop(key)
        g = b.g(key[0], key[1])
        g[5] += vals[2]
        g[6] += vals[3]
    if b.roll:
        insert_rows(
            cur,
            "INSERT INTO analytics_rollup (site_id, hour, dim, value, pageviews, events, "
            "visitors, visitors_day, sessions, bounces, duration_ms)",
            [
                (site, hour_str(h), dim, value[:500], *vals)
                for (site, h, key), vals in b.roll.items()
                for dim, value in (key.split(_SEP, 1),)
                if any(vals)
            ],
            "ON CONFLICT(site_id, dim, hour, value) DO UPDATE SET "
            "pageviews=pageviews+excluded.pageviews, events=events+excluded.events, "
            "visitors=visitors+excluded.visitors, visitors_day=visitors_day+excluded.visitors_day, "
            "sessions=sessions+excluded.sessions, bounces=bounces+excluded.bounces, "
            "duration_ms=duration_ms+excluded.duration_ms",
        )
    if b.graph:
        cur.executemany(
            "INSERT INTO analytics_sessionshourly (site_id, hour, started, active, pageviews, "
            "events, errors, visitors, visitors_day, bounces, duration_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(site_id, hour) DO UPDATE SET "
            "started=started+excluded.started, active=active+excluded.active, "
            "pageviews=pageviews+excluded.pageviews, events=events+excluded.events, "
            "errors=errors+excluded.errors, visitors=visitors+excluded.visitors, "
            "visitors_day=visitors_day+excluded.visitors_day, bounces=bounces+excluded.bounces, "
            "duration_ms=duration_ms+excluded.duration_ms",
            [(site, hour_str(h), *vals) for (site, h), vals in b.graph.items()],
        )
    if b.counters:
        cur.executemany(
            "INSERT INTO analytics_dailycounter (site_id, day, name, count) VALUES (?,?,?,?) "
            "ON CONFLICT(site_id, day, name) DO UPDATE SET count=count+excluded.count",
            [(site, day_str(d), name, n) for (site, d, name), n in b.counters.items()],
        )


def _issue_item(r: Rec) -> IssueItem:
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
