"""The worker process's caches: small, slowly changing tables (sites, goals, salts) and the
visitor states and open sessions reused across batches.

Code elsewhere reads `caches.STATES` through the module (never `from ... import STATES`):
tests replace it to act as another worker process.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from web.analytics import goals
from web.analytics.records import (
    SESSION_COLS,
    SESSION_TIMEOUT,
    Rec,
    Sess,
    session_from_row,
)
from web.analytics.timefmt import DAY, day_str, parse_ts, ts_str
from web.analytics.visitorstates import StateStore

if TYPE_CHECKING:
    from web.analytics.rollupcount import Batch

CACHE_TTL = 30.0

SELECT_SITES = "SELECT id FROM analytics_site"
SELECT_GOALS = "SELECT site_id, name, kind, match FROM analytics_goal"
INSERT_SALT = "INSERT OR IGNORE INTO analytics_salt(day, value, created_at) VALUES (?, ?, ?)"
DELETE_OLD_SALTS = "DELETE FROM analytics_salt WHERE day < ?"
SELECT_SALTS = "SELECT day, value FROM analytics_salt WHERE day >= ?"
SELECT_SESSIONS = f"SELECT {SESSION_COLS} FROM analytics_session WHERE id IN "  # + "(?,?,…)"


class SiteCache:
    """Site ids, goals and salts, reloaded every CACHE_TTL seconds (salts: by day)."""

    def __init__(self) -> None:
        self.sites: set[int] = set()
        # site -> [(goal name, kind, normalised pattern)]
        self.goals: dict[int, list[tuple[str, str, str]]] = {}
        self.loaded_at = -1e9
        self.salts: dict[int, bytes] = {}

    def refresh(self, cur, now: float, force: bool = False) -> None:
        if not force and now - self.loaded_at < CACHE_TTL:
            return
        self.sites = {r[0] for r in cur.execute(SELECT_SITES)}
        by_site: dict[int, list[tuple[str, str, str]]] = {}
        for site, name, kind, match in cur.execute(SELECT_GOALS):
            try:
                # Stored patterns may predate normalisation ("/pricing/" matches "/pricing").
                pattern = goals.normalise_pattern(kind, match)
            except goals.GoalError:
                continue  # empty or of an unknown kind: it never matched anything
            by_site.setdefault(site, []).append((name, kind, pattern))
        self.goals = by_site
        self.loaded_at = now


CACHE = SiteCache()


def salts_for(cur, today: int, now: float) -> dict[int, bytes]:
    """Today's and yesterday's salts, creating them on first use and deleting salts older
    than 48 h when today's is created. Race-safe across workers: INSERT OR IGNORE, then
    read back."""
    if today in CACHE.salts and (today - 1) in CACHE.salts:
        return CACHE.salts
    # Yesterday's too: a late event from yesterday (the worker was down at midnight, or this
    # is its first run) has a salt to hash with instead of being dropped as stale.
    cur.execute(INSERT_SALT, (day_str(today - 1), secrets.token_bytes(32), ts_str(now)))
    cur.execute(INSERT_SALT, (day_str(today), secrets.token_bytes(32), ts_str(now)))
    if cur.rowcount:
        cur.execute(DELETE_OLD_SALTS, (day_str(today - 1),))
    salts = {}
    for day, value in cur.execute(SELECT_SALTS, (day_str(today - 1),)):
        salts[int(parse_ts(day)) // DAY] = bytes(value)
    CACHE.salts = salts
    return salts


class StateCache:
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

    def keep(self, b: Batch, now: float) -> None:
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
    keep = StateCache.MAX // 2
    return d if len(d) <= keep else dict(list(d.items())[-keep:])


STATES = StateCache()


def reset_caches() -> None:
    """Forget cached sites, goals, salts, states and sessions (tests, admin changes); states
    are then rebuilt from the journal."""
    CACHE.loaded_at = -1e9
    CACHE.salts.clear()
    STATES.clear()


def load_state(cur, b: Batch, recs: list[Rec]) -> None:
    """Catch up with the state journal, then put the states of the batch's visitors (today's
    and yesterday's ids) and their open sessions into the batch, loading the sessions not
    cached in one query per 500."""
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
        for row in cur.execute(SELECT_SESSIONS + f"({','.join('?' * len(chunk))})", chunk):
            s = session_from_row(row)
            b.sessions[s.id] = s
