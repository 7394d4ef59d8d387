"""A batch's counters, aggregated in memory before the writers store them (writers.py).

Three kinds of counter rows, lists of ints indexed by the column constants below:
- rollup rows `Batch.roll[(site, hour, "dim\\x1fvalue")]`, columns ROLLUP_COLS;
- DimGroup rows `Batch.groups[(site, hour, group)]`, the same columns, for every key of the
  group (expanded into rollup rows by `expand_groups` at write time);
- hourly graph rows `Batch.graph[(site, hour)]`, columns GRAPH_COLS;
and the daily counters `Batch.counters[(site, day, name)]`.
"""

from __future__ import annotations

from collections import Counter

from web.analytics import metrics, steps
from web.analytics.records import BatchResult, DimGroup, Rec, Sess, key_id
from web.analytics.timefmt import DAY, ts_str
from web.analytics.visitorstates import VState

# Columns of a rollup row: the counters of analytics_rollup, in its upsert's order.
PAGEVIEWS = 0
EVENTS = 1
VISITORS = 2
VISITORS_DAY = 3
SESSIONS = 4
BOUNCES = 5
DURATION_MS = 6
ROLLUP_COLS = ("pageviews", "events", "visitors", "visitors_day", "sessions", "bounces",
               "duration_ms")  # fmt: skip

# Columns of an hourly graph row: the counters of analytics_sessionshourly, in order.
G_STARTED = 0
G_ACTIVE = 1
G_PAGEVIEWS = 2
G_EVENTS = 3
G_ERRORS = 4
G_VISITORS = 5
G_VISITORS_DAY = 6
G_BOUNCES = 7
G_DURATION_MS = 8
GRAPH_COLS = ("started", "active", "pageviews", "events", "errors", "visitors", "visitors_day",
              "bounces", "duration_ms")  # fmt: skip


class Batch:
    """One batch's state: its result, counters, and the sessions and visitor states it
    touched."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.res = BatchResult()
        self.roll: dict[tuple[int, int, str], list[int]] = {}
        self.groups: dict[tuple[int, int, DimGroup], list[int]] = {}
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

    def drop(self, d: steps.Drop, eid: str, p: dict, site_known: bool) -> None:
        """Count an event a step dropped (and remember its id, when its site is known)."""
        key = f"{d.step}:{d.reason}"
        self.res.dropped[key] = self.res.dropped.get(key, 0) + 1
        metrics.DROPPED.labels(d.step, d.reason).inc()
        if site_known:
            ts = float(p["ts"])
            self.counters[(p["site"], int(ts // DAY), "received")] += 1
            self.counters[(p["site"], int(ts // DAY), f"dropped:{key}")] += 1
            self.dropped_rows.append((eid, p["site"], ts_str(ts), d.step, d.reason))

    def r(self, site: int, hour: int, key: str) -> list[int]:
        """The rollup row of a key in an hour (ROLLUP_COLS)."""
        k = (site, hour, key)
        row = self.roll.get(k)
        if row is None:
            row = self.roll[k] = [0, 0, 0, 0, 0, 0, 0]
        return row

    def gr(self, site: int, hour: int, group: DimGroup) -> list[int]:
        """The row of a DimGroup in an hour (ROLLUP_COLS, added to each of its keys)."""
        k = (site, hour, group)
        row = self.groups.get(k)
        if row is None:
            row = self.groups[k] = [0, 0, 0, 0, 0, 0, 0]
        return row

    def g(self, site: int, hour: int) -> list[int]:
        """The hourly graph row of a site (GRAPH_COLS)."""
        k = (site, hour)
        row = self.graph.get(k)
        if row is None:
            row = self.graph[k] = [0, 0, 0, 0, 0, 0, 0, 0, 0]
        return row


def count(b: Batch, st: VState, rec: Rec, pairs: list[tuple[str, int]], col: int) -> None:
    """Add 1 to column `col` of each (key, key id)'s rollup row in the event's hour, and
    count the visitor once per hour and once per UTC day per key (the hot loop: keep it flat)."""
    roll = b.roll
    site, h = rec.site, rec.hour
    seen_h = st.seen_hour if h == st.hour else NEVER
    seen_d = st.seen_day if rec.day == st.day else NEVER
    for key, kid in pairs:
        k = (site, h, key)
        row = roll.get(k)
        if row is None:
            row = roll[k] = [0, 0, 0, 0, 0, 0, 0]
        row[col] += 1
        if kid not in seen_h:
            seen_h.add(kid)
            row[VISITORS] += 1
        if kid not in seen_d:
            seen_d.add(kid)
            row[VISITORS_DAY] += 1


def count_group(b: Batch, st: VState, rec: Rec, group: DimGroup, col: int) -> None:
    """count() for every key of a session's DimGroup: one counter update, and per-key work
    only for a visitor counted under some but not all of the group's keys in a window."""
    site, h = rec.site, rec.hour
    row = b.gr(site, h, group)
    row[col] += 1
    gid = group.gid
    for seen, c in (
        (st.seen_hour if h == st.hour else NEVER, VISITORS),
        (st.seen_day if rec.day == st.day else NEVER, VISITORS_DAY),
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


NEVER = _Never()


def pairs(keys: list[str]) -> list[tuple[str, int]]:
    """(key, key id) of each key, for count()."""
    return [(k, key_id(k)) for k in keys]


def expand_groups(b: Batch) -> None:
    """Add each DimGroup row to the rollup rows of its keys, then move the site-wide
    visitor key "" out of the rollup rows into the hourly graph's visitors columns."""
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
    for key in [k for k in roll if not k[2]]:
        vals = roll.pop(key)
        g = b.g(key[0], key[1])
        g[G_VISITORS] += vals[VISITORS]
        g[G_VISITORS_DAY] += vals[VISITORS_DAY]
