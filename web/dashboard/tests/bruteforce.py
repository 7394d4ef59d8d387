"""The query engine's contract (docs: the Hearth query-engine spec) in plain Python.

A test oracle, not an implementation: every panel is computed from a snapshot of the raw
``analytics_event`` and ``analytics_session`` rows, by the most literal reading of the spec
that is still readable (loops and sets, no SQL). The differential test
(test_differential.py) compares the dashboard's selectors against it.

Take the snapshot (``load``) BEFORE retention prunes raw rows: the engine answers from the
sealed history, this module from the rows as they were written. Goals are read live from
the database at each call (goals are retroactive).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from django.db import connection

from web.analytics import goals as gm
from web.analytics.history.schema import SESSION_ATTRS
from web.analytics.models import Goal

SESSION_DIMS = SESSION_ATTRS
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class QueryLike(Protocol):
    site_id: int
    start: datetime
    end: datetime
    filters: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Ev:
    seq: int
    ts: datetime  # naive UTC
    kind: str
    name: str
    path: str
    visitor_id: int
    session_id: int
    engaged_ms: int
    props: Mapping[str, str]


@dataclass(slots=True)
class Visit:
    """A session's facts, computed from ALL of its events (spec: "Sessions and their facts")."""

    id: int
    start: datetime  # started_at of the session row (naive UTC)
    attrs: dict[str, str]  # source .. os
    entry: str
    evs: list[Ev] = field(default_factory=list)  # by seq
    exit: str = ""
    pageviews: int = 0
    events: int = 0
    duration_ms: int = 0
    vday: tuple[date, int] = (date.min, 0)

    @property
    def bounce(self) -> bool:
        return self.pageviews < 2 and self.events == 0


@dataclass
class Snapshot:
    site_id: int
    events: list[Ev]  # by seq, every kind
    visits: dict[int, Visit]


def _dt(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v
    return datetime.fromisoformat(str(v))


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def load(site_id: int) -> Snapshot:
    """Read the site's raw events and sessions (raw SQL: the stored text, no ORM casts)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, ts, kind, name, path, visitor_id, session_id, engaged_ms, props "
            "FROM analytics_event WHERE site_id = %s ORDER BY id",
            [site_id],
        )
        events = [
            Ev(int(r[0]), _dt(r[1]), r[2], r[3], r[4], int(r[5]), int(r[6]), int(r[7] or 0),
               json.loads(r[8]) if r[8] else {})
            for r in cur.fetchall()
        ]  # fmt: skip
        cur.execute(
            "SELECT id, started_at, entry_path, " + ", ".join(SESSION_DIMS) + " "
            "FROM analytics_session WHERE site_id = %s",
            [site_id],
        )
        visits = {
            int(r[0]): Visit(int(r[0]), _dt(r[1]), dict(zip(SESSION_DIMS, r[3:], strict=True)),
                             r[2])
            for r in cur.fetchall()
        }  # fmt: skip
    for e in events:
        if e.session_id == 0:
            continue
        v = visits[e.session_id]  # KeyError: an event whose session row is missing
        v.evs.append(e)
    for v in visits.values():
        first = v.evs[0]  # by seq
        v.vday = (v.start.date(), first.visitor_id)
        pvs = [e for e in v.evs if e.kind == "pageview"]
        v.exit = pvs[-1].path if pvs else ""
        v.pageviews = len(pvs)
        v.events = sum(e.kind == "custom" for e in v.evs)
        v.duration_ms = sum(e.engaged_ms for e in v.evs if e.kind == "engagement")
    return Snapshot(site_id, events, visits)


# --- filters ----------------------------------------------------------------------------------


def site_goals(site_id: int) -> dict[str, tuple[str, str]]:
    """name -> (kind, normalised pattern), read live (goals are retroactive)."""
    return {
        g.name: (g.kind, gm.normalise_pattern(g.kind, g.match))
        for g in Goal.objects.filter(site_id=site_id)
    }


def _has(v: Visit, pred: Any) -> bool:
    return any(pred(e) for e in v.evs)


def satisfies(v: Visit, filters: Mapping[str, str], goals: Mapping[str, tuple[str, str]]) -> bool:
    for dim, value in filters.items():
        if dim in SESSION_DIMS:
            ok = v.attrs[dim] == value
        elif dim == "entry":
            ok = v.entry == value
        elif dim == "exit":
            ok = v.exit == value
        elif dim == "page":
            pat = gm.normalise_pattern("page", value)
            ok = _has(v, lambda e, p=pat: e.kind == "pageview" and gm.path_matches(p, e.path))
        elif dim == "event":
            ok = _has(v, lambda e, n=value: e.kind == "custom" and e.name == n)
        elif dim == "goal":
            g = goals.get(value)
            ok = g is not None and _has(
                v, lambda e, g=g: gm.matches(g[0], g[1], e.kind, e.name, e.path)
            )
        elif dim.startswith("prop:"):
            key = dim[5:]
            ok = _has(v, lambda e, k=key, x=value: e.kind == "custom" and e.props.get(k) == x)
        else:
            raise ValueError(f"unknown filter {dim!r}")
        if not ok:
            return False
    return True


class Oracle:
    """The spec's panels over one snapshot."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    # S and the event set of a query
    def _ok(self, q: QueryLike) -> dict[int, bool]:
        goals = site_goals(q.site_id)
        return {sid: satisfies(v, q.filters, goals) for sid, v in self.snap.visits.items()}

    def sessions(self, q: QueryLike) -> list[Visit]:
        start, end = _naive(q.start), _naive(q.end)
        goals = site_goals(q.site_id)
        return [
            v
            for v in self.snap.visits.values()
            if start <= v.start < end and satisfies(v, q.filters, goals)
        ]

    def events(self, q: QueryLike, kind: str) -> list[Ev]:
        """Events of ``kind`` with ts in range whose session satisfies the filters."""
        start, end = _naive(q.start), _naive(q.end)
        ok = self._ok(q) if q.filters else None
        out = []
        for e in self.snap.events:
            if e.kind != kind or not start <= e.ts < end:
                continue
            if ok is not None and not ok.get(e.session_id, False):
                continue
            out.append(e)
        return out

    # panels
    def top_stats(self, q: QueryLike) -> dict[str, float]:
        s = self.sessions(q)
        visits = len(s)
        pageviews = sum(v.pageviews for v in s)
        bounces = sum(v.bounce for v in s)
        duration = sum(v.duration_ms for v in s)
        return {
            "visitors": len({v.vday for v in s}),
            "visits": visits,
            "pageviews": pageviews,
            "views_per_visit": _ratio(pageviews, visits),
            "bounce_rate": _ratio(bounces, visits),
            "visit_duration_s": round(duration / visits / 1000, 1) if visits else 0.0,
        }

    def timeseries(self, q: QueryLike) -> list[dict[str, Any]]:
        start, end = _naive(q.start), _naive(q.end)
        hourly = end - start <= 2 * DAY
        step = HOUR if hourly else DAY
        buckets: dict[datetime, list[Visit]] = {}
        # every hour, or every UTC day, that the range touches
        t = start if hourly else start.replace(hour=0)
        while t < end:
            buckets[t] = []
            t += step
        for v in self.sessions(q):
            b = v.start.replace(minute=0, second=0, microsecond=0)
            if not hourly:
                b = b.replace(hour=0)
            buckets[b].append(v)
        return [
            {
                "t": t.isoformat() + "Z",
                "visitors": len({v.vday for v in vs}),
                "visits": len(vs),
                "pageviews": sum(v.pageviews for v in vs),
            }
            for t, vs in buckets.items()
        ]

    def breakdown_all(self, q: QueryLike, dim: str) -> list[dict[str, Any]]:
        """The whole ordered list of a breakdown (before limit/offset/search)."""
        if dim in SESSION_DIMS or dim in ("entry", "exit"):
            return self._session_breakdown(q, dim)
        if dim == "page":
            return self._event_breakdown(self.events(q, "pageview"), lambda e: e.path, "pageviews")
        if dim == "event":
            return self._event_breakdown(self.events(q, "custom"), lambda e: e.name, "events")
        if dim.startswith("props:"):
            key = dim[6:]
            evs = [e for e in self.events(q, "custom") if key in e.props]
            return self._event_breakdown(evs, lambda e: e.props[key], "events")
        if dim == "goal":
            return self._goals(q)
        raise ValueError(f"unknown dim {dim!r}")

    def breakdown(
        self, q: QueryLike, dim: str, *, limit: int = 10, offset: int = 0, search: str = ""
    ) -> list[dict[str, Any]]:
        rows = self.breakdown_all(q, dim)
        if search:
            rows = [r for r in rows if search.lower() in r["value"].lower()]
        return rows[offset : offset + limit]

    def _session_breakdown(self, q: QueryLike, dim: str) -> list[dict[str, Any]]:
        groups: dict[str, list[Visit]] = defaultdict(list)
        for v in self.sessions(q):
            value = v.entry if dim == "entry" else v.exit if dim == "exit" else v.attrs[dim]
            if value:
                groups[value].append(v)
        rows = []
        for value, vs in groups.items():
            n = len(vs)
            rows.append(
                {
                    "value": value,
                    "visitors": len({v.vday for v in vs}),
                    "visits": n,
                    "pageviews": sum(v.pageviews for v in vs),
                    "events": sum(v.events for v in vs),
                    "bounce_rate": _ratio(sum(v.bounce for v in vs), n),
                    "visit_duration_s": round(sum(v.duration_ms for v in vs) / n / 1000, 1),
                }
            )
        key = "visits" if dim in ("entry", "exit") else "visitors"
        rows.sort(key=lambda r: (-r[key], r["value"]))
        return rows

    @staticmethod
    def _event_breakdown(evs: Iterable[Ev], value_of: Any, count_key: str) -> list[dict[str, Any]]:
        groups: dict[str, list[Ev]] = defaultdict(list)
        for e in evs:
            groups[value_of(e)].append(e)
        rows = [
            {
                "value": value,
                count_key: len(es),
                "visitors": len({(e.ts.date(), e.visitor_id) for e in es}),
                "visits": len({e.session_id for e in es}),
            }
            for value, es in groups.items()
        ]
        rows.sort(key=lambda r: (-r[count_key], r["value"]))
        return rows

    def _goals(self, q: QueryLike, total_visitors: float | None = None) -> list[dict[str, Any]]:
        start, end = _naive(q.start), _naive(q.end)
        goals = site_goals(q.site_id)
        ok = self._ok(q) if q.filters else None
        if total_visitors is None:
            total_visitors = self.top_stats(q)["visitors"]
        rows = []
        for name, (kind, pattern) in goals.items():
            es = [
                e
                for e in self.snap.events
                if start <= e.ts < end
                and (ok is None or ok.get(e.session_id, False))
                and gm.matches(kind, pattern, e.kind, e.name, e.path)
            ]
            if not es:
                continue
            visitors = len({(e.ts.date(), e.visitor_id) for e in es})
            rows.append(
                {
                    "value": name,
                    "events": len(es),
                    "visitors": visitors,
                    "visits": len({e.session_id for e in es}),
                    "conversion_rate": _ratio(visitors, total_visitors),
                }
            )
        rows.sort(key=lambda r: (-r["visitors"], r["value"]))
        return rows

    def goals(self, q: QueryLike, total_visitors: float) -> list[dict[str, Any]]:
        """The goal panel with conversion rates over ``total_visitors`` (top_stats(q).visitors
        as the engine answers it: for an unfiltered query that is the rollup path's figure,
        which this module does not model)."""
        return self._goals(q, total_visitors)

    def event_props(self, q: QueryLike, name: str, limit: int = 20) -> list[dict[str, Any]]:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for e in self.events(q, "custom"):
            if e.name == name:
                for k, v in e.props.items():
                    counts[(k, v)] += 1
        rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))
        return [{"prop": k, "value": v, "events": n} for (k, v), n in rows[:limit]]

    def funnel(self, q: QueryLike, steps: list[str]) -> list[dict[str, Any]]:
        if not steps:
            return []
        specs = [gm.step_spec(s) for s in steps]
        reached = [0] * len(steps)
        for v in self.sessions(q):
            pos = 0
            for e in sorted(
                (e for e in v.evs if e.kind in ("pageview", "custom")), key=lambda e: (e.ts, e.seq)
            ):
                if pos < len(specs) and gm.matches(*specs[pos], e.kind, e.name, e.path):
                    reached[pos] += 1
                    pos += 1
        out = []
        for i, step in enumerate(steps):
            prev = reached[i - 1] if i else reached[0]
            out.append(
                {
                    "step": step,
                    "visits": reached[i],
                    "conversion_rate": _ratio(reached[i], reached[0]),
                    "dropoff": prev - reached[i],
                    "dropoff_rate": _ratio(prev - reached[i], prev),
                }
            )
        return out


def _ratio(a: float, b: float) -> float:
    return round(a / b, 4) if b else 0.0
