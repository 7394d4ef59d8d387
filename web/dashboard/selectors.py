"""Reads for the dashboard, the stats API and the reports.

Two query paths (see docs/architecture/dashboard.md, "Query plan"):

- Unfiltered: hourly rollups (analytics_rollup, analytics_sessionshourly) for partial days
  and days not yet compacted, and this app's PeriodRollup (per day / per month) for the rest.
  A year is 12 month rows per value instead of 8,760 hourly ones.
- Filtered: rollups hold one dimension each, so "top pages of visitors from Germany" cannot
  come from them. Filtered queries read analytics_session (one row per visit) and, for page,
  event and goal conditions and the page/event panels, analytics_event, restricted to the
  range's rows within raw retention. Those reads are bounded by RAW_SCAN_CAP rows.

Visitors: a multi-day "visitors" figure is the sum of daily uniques (visitor-days), because
visitor ids change every UTC day by design (analytics.md). Labels say so.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connections

from web.analytics.models import Goal, Site
from web.analytics.selectors import visitors_now

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RANGES = ("realtime", "today", "yesterday", "7d", "30d", "month", "year", "custom")
# Filterable dimensions; each is also a breakdown panel.
SESSION_DIMS = (
    "source",
    "medium",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "device",
    "browser",
    "os",
)
FILTER_DIMS = ("page", "entry", "exit", *SESSION_DIMS, "event", "goal")
BREAKDOWN_DIMS = FILTER_DIMS
RAW_SCAN_CAP = 500_000
MAX_RANGE_DAYS = 3 * 366
_SESSION_COL = {"entry": "entry_path", "exit": "exit_path", **{d: d for d in SESSION_DIMS}}


class QueryError(ValueError):
    """Bad range or filter in a request; the message is shown to the user (HTTP 400)."""


@dataclass(frozen=True)
class Query:
    site_id: int
    start: datetime  # UTC, inclusive, whole hour
    end: datetime  # UTC, exclusive, whole hour
    range: str = "30d"
    filters: Mapping[str, str] = field(default_factory=dict)

    @property
    def interval(self) -> str:
        return "hour" if self.end - self.start <= 2 * DAY else "day"

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY

    def previous(self) -> Query:
        """The period of the same length just before this one (for comparison)."""
        span = self.end - self.start
        return replace(self, start=self.start - span, end=self.start)

    def params(self, **override: str | None) -> dict[str, str]:
        """URL parameters that reproduce this query (for links and shareable views)."""
        out: dict[str, str] = {"range": self.range}
        if self.range == "custom":
            out["from"] = self.start.date().isoformat()
            out["to"] = (self.end - DAY).date().isoformat()
        out.update(self.filters)
        for k, v in override.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        return out


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def parse_query(site_id: int, params: Mapping[str, str], *, now: datetime | None = None) -> Query:
    """Build a Query from URL parameters (range, from, to and one value per filter dim).

    Ranges are UTC: today, yesterday, 7d and 30d (ending with today), month and year (to
    date), custom (from/to inclusive dates). Raises QueryError with a readable message.
    """
    now = now or datetime.now(UTC)
    rng = params.get("range") or "30d"
    if rng not in RANGES:
        raise QueryError(f"unknown range {rng!r}; use one of {', '.join(RANGES)}")
    today = _day_start(now.date())
    end = today + DAY
    if rng == "realtime":
        start, end = _floor_hour(now) - HOUR, _floor_hour(now) + HOUR
    elif rng == "today":
        start = today
    elif rng == "yesterday":
        start, end = today - DAY, today
    elif rng == "7d":
        start = today - 6 * DAY
    elif rng == "30d":
        start = today - 29 * DAY
    elif rng == "month":
        start = today.replace(day=1)
    elif rng == "year":
        start = today.replace(month=1, day=1)
    else:
        try:
            first = date.fromisoformat(params.get("from", ""))
            last = date.fromisoformat(params.get("to", ""))
        except ValueError as exc:
            raise QueryError("custom range needs from= and to= as YYYY-MM-DD") from exc
        if last < first:
            raise QueryError("custom range: to= is before from=")
        start, end = _day_start(first), _day_start(last) + DAY
        if (end - start).days > MAX_RANGE_DAYS:
            raise QueryError(f"custom range is longer than {MAX_RANGE_DAYS} days")
    filters: dict[str, str] = {}
    for dim in FILTER_DIMS:
        value = params.get(dim)
        if value is None or value == "":
            continue
        if len(value) > 500:
            raise QueryError(f"filter {dim} is longer than 500 characters")
        filters[dim] = value
    return Query(site_id=site_id, start=start, end=end, range=rng, filters=filters)


def _hs(t: datetime) -> str:
    """Datetime as stored by Django/the worker in SQLite text columns."""
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _ds(d: date | datetime) -> str:
    return d.strftime("%Y-%m-%d")


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connections["default"].cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _ratio(a: float, b: float) -> float:
    return round(a / b, 4) if b else 0.0


# --- query plan over rollups ---------------------------------------------------------------


def compacted_through(site_id: int) -> date | None:
    rows = _fetch("SELECT through FROM dashboard_compactstate WHERE site_id=%s", [site_id])
    if not rows:
        return None
    v = rows[0][0]
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


@dataclass
class Plan:
    """Which rows cover [start, end): hourly ranges, day ranges and month ranges."""

    hours: list[tuple[datetime, datetime]]
    days: list[tuple[date, date]]
    months: list[tuple[date, date]]


def plan(q: Query, through: date | None) -> Plan:
    """Split the range: whole months, then whole days, from PeriodRollup where compacted;
    the ragged edges and everything not yet compacted from the hourly rollups."""
    first_day = (q.start + (DAY - timedelta(microseconds=1))).date()  # ceil to a day
    last_day = q.end.date()  # floor
    if through is not None:
        last_day = min(last_day, through)
    if through is None or first_day >= last_day:
        return Plan([(q.start, q.end)], [], [])
    hours = []
    if q.start < _day_start(first_day):
        hours.append((q.start, _day_start(first_day)))
    if _day_start(last_day) < q.end:
        hours.append((_day_start(last_day), q.end))
    m0 = first_day if first_day.day == 1 else _next_month(first_day)
    m1 = _month_start(last_day)
    if m0 < m1:
        days = [(a, b) for a, b in ((first_day, m0), (m1, last_day)) if a < b]
        return Plan(hours, days, [(m0, m1)])
    return Plan(hours, [(first_day, last_day)], [])


_METRICS = "pageviews, events, visitors_day, sessions, bounces, duration_ms"
_SUMS = (
    "SUM(pageviews), SUM(events), SUM(visitors_day), SUM(sessions), SUM(bounces), SUM(duration_ms)"
)
_ORDER = {
    "page": "SUM(pageviews)",
    "event": "SUM(events)",
    "goal": "SUM(visitors_day)",
    "entry": "SUM(sessions)",
    "exit": "SUM(sessions)",
}


def _rollup_union(
    q: Query, dim: str, *, value: str | None = None, months: bool = True, day_key: bool = False
) -> tuple[str, list[Any]]:
    """One UNION ALL over the rows that cover the range (see plan()), optionally for a single
    value. ``months=False`` reads day rows instead of month rows; ``day_key`` adds the UTC
    day as column ``k`` (for daily series)."""
    p = plan(q, compacted_through(q.site_id))
    days = p.days + p.months
    if not months and days:
        days = [(min(a for a, _ in days), max(b for _, b in days))]
    only = " AND value=%s" if value is not None else ""
    extra = [value] if value is not None else []
    parts, params = [], []
    for a, b in p.hours:
        parts.append(
            f"SELECT value, {_METRICS}{', substr(hour,1,10) AS k' if day_key else ''} "
            f"FROM analytics_rollup WHERE site_id=%s AND dim=%s AND hour>=%s AND hour<%s{only}"
        )
        params += [q.site_id, dim, _hs(a), _hs(b), *extra]
    ranges = [("d", r) for r in (days if not months else p.days)]
    ranges += [("m", r) for r in (p.months if months else [])]
    for grain, (a, b) in ranges:
        parts.append(
            f"SELECT value, {_METRICS}{', substr(start,1,10) AS k' if day_key else ''} "
            "FROM dashboard_periodrollup WHERE site_id=%s AND grain=%s AND dim=%s "
            f"AND start>=%s AND start<%s{only}"
        )
        params += [q.site_id, grain, dim, _ds(a), _ds(b), *extra]
    return " UNION ALL ".join(parts), params


def _rollup_breakdown(q: Query, dim: str, limit: int) -> list[tuple[Any, ...]]:
    union, params = _rollup_union(q, dim)
    order = _ORDER.get(dim, "SUM(visitors_day)")
    sql = (
        f"SELECT value, {_SUMS} FROM ({union}) GROUP BY value ORDER BY {order} DESC, value LIMIT %s"
    )
    return _fetch(sql, [*params, limit])


def _single_session_filter(q: Query) -> tuple[str, str] | None:
    """(dim, value) when the only filter is one session attribute: its own rollup rows then
    answer top stats and the chart exactly, without raw reads and beyond raw retention."""
    if len(q.filters) == 1:
        ((dim, value),) = q.filters.items()
        if dim in SESSION_DIMS:
            return dim, value
    return None


# --- raw path (filters) --------------------------------------------------------------------


def _goal_clause(site_id: int, name: str) -> tuple[str, list[Any]]:
    goal = Goal.objects.filter(site_id=site_id, name=name).first()
    if goal is None:
        return "0", []
    if goal.kind == Goal.Kind.EVENT:
        return "(kind='custom' AND name=%s)", [goal.match]
    if goal.match.endswith("*"):
        return "(kind='pageview' AND path LIKE %s)", [goal.match[:-1] + "%"]
    return "(kind='pageview' AND path=%s)", [goal.match]


def _session_where(q: Query) -> tuple[str, list[Any]]:
    """WHERE clause on analytics_session s for the query's range and every filter."""
    where = ["s.site_id=%s", "s.started_at>=%s", "s.started_at<%s"]
    params: list[Any] = [q.site_id, _hs(q.start), _hs(q.end)]
    for dim, value in q.filters.items():
        if dim in _SESSION_COL:
            where.append(f"s.{_SESSION_COL[dim]}=%s")
            params.append(value)
            continue
        if dim == "page":
            cond, cp = "(kind='pageview' AND path=%s)", [value]
        elif dim == "event":
            cond, cp = "(kind='custom' AND name=%s)", [value]
        else:
            cond, cp = _goal_clause(q.site_id, value)
        where.append(
            "s.id IN (SELECT session_id FROM analytics_event WHERE site_id=%s AND ts>=%s "
            f"AND ts<%s AND {cond} LIMIT {RAW_SCAN_CAP})"
        )
        params += [q.site_id, _hs(q.start), _hs(q.end), *cp]
    return " AND ".join(where), params


_VISITOR_DAY = "substr(s.started_at,1,10)||':'||s.visitor_id"


def _raw_sessions_breakdown(q: Query, col: str, limit: int) -> list[tuple[Any, ...]]:
    where, params = _session_where(q)
    sql = (
        f"SELECT s.{col}, SUM(s.pageviews), SUM(s.events), COUNT(DISTINCT {_VISITOR_DAY}), "
        f"COUNT(*), SUM(s.is_bounce), SUM(s.duration_ms) FROM analytics_session s "
        f"WHERE {where} AND s.{col}!='' GROUP BY s.{col} "
        f"ORDER BY {'COUNT(*)' if col in ('entry_path', 'exit_path') else 4} DESC, 1 LIMIT %s"
    )
    return _fetch(sql, [*params, limit])


def _raw_events_breakdown(q: Query, kind: str, col: str, limit: int) -> list[tuple[Any, ...]]:
    where, params = _session_where(q)
    sql = (
        f"SELECT e.{col}, SUM(e.kind='pageview'), SUM(e.kind='custom'), "
        "COUNT(DISTINCT substr(e.ts,1,10)||':'||e.visitor_id), COUNT(DISTINCT e.session_id), 0, 0 "
        "FROM analytics_event e WHERE e.site_id=%s AND e.ts>=%s AND e.ts<%s AND e.kind=%s "
        f"AND e.session_id IN (SELECT s.id FROM analytics_session s WHERE {where} "
        f"LIMIT {RAW_SCAN_CAP}) GROUP BY e.{col} "
        "ORDER BY SUM(e.kind IN ('pageview','custom')) DESC, 1 LIMIT %s"
    )
    return _fetch(sql, [q.site_id, _hs(q.start), _hs(q.end), kind, *params, limit])


def _raw_goals(q: Query) -> list[tuple[Any, ...]]:
    """Conversions and converting visitor-days of every goal in one scan of the range."""
    goals = list(Goal.objects.filter(site_id=q.site_id).order_by("name"))
    if not goals:
        return []
    where, params = _session_where(q)
    cols, col_params = [], []
    for goal in goals:
        cond, cp = _goal_clause(q.site_id, goal.name)
        cols.append(
            f"SUM({cond}), COUNT(DISTINCT CASE WHEN {cond} "
            "THEN substr(ts,1,10)||':'||visitor_id END)"
        )
        col_params += [*cp, *cp]
    row = _fetch(
        f"SELECT {', '.join(cols)} FROM analytics_event WHERE site_id=%s AND ts>=%s AND ts<%s "
        f"AND session_id IN (SELECT s.id FROM analytics_session s WHERE {where} "
        f"LIMIT {RAW_SCAN_CAP})",
        [*col_params, q.site_id, _hs(q.start), _hs(q.end), *params],
    )[0]
    rows = [
        (goal.name, 0, int(row[2 * i] or 0), int(row[2 * i + 1] or 0), 0, 0, 0)
        for i, goal in enumerate(goals)
        if row[2 * i]
    ]
    rows.sort(key=lambda r: (-r[3], r[0]))
    return rows


# --- public reads -----------------------------------------------------------------------------


def top_stats(q: Query) -> dict[str, float]:
    """visitors (sum of daily uniques), visits, pageviews, views_per_visit, bounce_rate (0-1),
    visit_duration_s (mean engaged time per visit)."""
    single = _single_session_filter(q)
    if single:
        union, params = _rollup_union(q, single[0], value=single[1])
        row = _fetch(
            "SELECT SUM(visitors_day), SUM(sessions), SUM(pageviews), SUM(bounces), "
            f"SUM(duration_ms) FROM ({union})",
            params,
        )[0]
    elif q.filters:
        where, params = _session_where(q)
        row = _fetch(
            f"SELECT COUNT(DISTINCT {_VISITOR_DAY}), COUNT(*), SUM(s.pageviews), SUM(s.is_bounce), "
            f"SUM(s.duration_ms) FROM analytics_session s WHERE {where}",
            params,
        )[0]
    else:
        row = _fetch(
            "SELECT SUM(visitors_day), SUM(started), SUM(pageviews), SUM(bounces), "
            "SUM(duration_ms) FROM analytics_sessionshourly WHERE site_id=%s AND hour>=%s "
            "AND hour<%s",
            [q.site_id, _hs(q.start), _hs(q.end)],
        )[0]
    visitors, visits, pageviews, bounces, duration = (int(v or 0) for v in row)
    return {
        "visitors": visitors,
        "visits": visits,
        "pageviews": pageviews,
        "views_per_visit": _ratio(pageviews, visits),
        "bounce_rate": _ratio(bounces, visits),
        "visit_duration_s": round(duration / visits / 1000, 1) if visits else 0.0,
    }


def compare(current: Mapping[str, float], previous: Mapping[str, float]) -> dict[str, Any]:
    """Per metric: value, previous value and change in percent (None when previous is 0)."""
    out = {}
    for k, v in current.items():
        p = previous.get(k, 0)
        out[k] = {"value": v, "previous": p, "change": round((v - p) / p * 100, 1) if p else None}
    return out


def _buckets(q: Query) -> list[str]:
    step, n, out = (HOUR, 13, []) if q.interval == "hour" else (DAY, 10, [])
    t = q.start
    while t < q.end:
        out.append(_hs(t)[:n])
        t += step
    return out


def timeseries(q: Query) -> list[dict[str, Any]]:
    """One point per hour (ranges up to 2 days) or per UTC day, zero-filled.
    Per day, visitors are exact daily uniques; per hour, distinct visitors in that hour."""
    n = 13 if q.interval == "hour" else 10
    single = _single_session_filter(q)
    if single and q.interval == "hour":
        rows = _fetch(
            "SELECT substr(hour,1,13), SUM(visitors), SUM(sessions), SUM(pageviews) "
            "FROM analytics_rollup WHERE site_id=%s AND dim=%s AND hour>=%s AND hour<%s "
            "AND value=%s GROUP BY 1",
            [q.site_id, single[0], _hs(q.start), _hs(q.end), single[1]],
        )
    elif single:
        union, params = _rollup_union(q, single[0], value=single[1], months=False, day_key=True)
        rows = _fetch(
            f"SELECT k, SUM(visitors_day), SUM(sessions), SUM(pageviews) FROM ({union}) GROUP BY k",
            params,
        )
    elif q.filters:
        where, params = _session_where(q)
        rows = _fetch(
            f"SELECT substr(s.started_at,1,{n}), COUNT(DISTINCT {_VISITOR_DAY}), COUNT(*), "
            f"SUM(s.pageviews) FROM analytics_session s WHERE {where} GROUP BY 1",
            params,
        )
    else:
        vis = "SUM(visitors)" if q.interval == "hour" else "SUM(visitors_day)"
        rows = _fetch(
            f"SELECT substr(hour,1,{n}), {vis}, SUM(started), SUM(pageviews) "
            "FROM analytics_sessionshourly WHERE site_id=%s AND hour>=%s AND hour<%s GROUP BY 1",
            [q.site_id, _hs(q.start), _hs(q.end)],
        )
    by = {r[0]: r for r in rows}
    points = []
    for b in _buckets(q):
        r = by.get(b, (b, 0, 0, 0))
        t = datetime.fromisoformat(b + (":00" if n == 13 else "")).replace(tzinfo=UTC)
        points.append(
            {
                "t": t.isoformat().replace("+00:00", "Z"),
                "visitors": int(r[1] or 0),
                "visits": int(r[2] or 0),
                "pageviews": int(r[3] or 0),
            }
        )
    return points


def breakdown(q: Query, dim: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Top values of one dimension with visitors, visits, pageviews, events, bounce rate,
    mean visit duration; goals also get conversion_rate (converting visitors / visitors)."""
    if dim not in BREAKDOWN_DIMS:
        raise QueryError(f"unknown dimension {dim!r}; use one of {', '.join(BREAKDOWN_DIMS)}")
    if not 1 <= limit <= 1000:
        raise QueryError("limit must be between 1 and 1000")
    if not q.filters:
        rows = _rollup_breakdown(q, dim, limit)
    elif dim in _SESSION_COL:
        rows = _raw_sessions_breakdown(q, _SESSION_COL[dim], limit)
    elif dim == "page":
        rows = _raw_events_breakdown(q, "pageview", "path", limit)
    elif dim == "event":
        rows = _raw_events_breakdown(q, "custom", "name", limit)
    else:
        rows = _raw_goals(q)[:limit]
    total_visitors = top_stats(q)["visitors"] if dim == "goal" else 0
    out = []
    for value, pageviews, events, visitors, sessions, bounces, duration in rows:
        item: dict[str, Any] = {
            "value": value,
            "visitors": int(visitors or 0),
            "visits": int(sessions or 0),
            "pageviews": int(pageviews or 0),
            "events": int(events or 0),
            "bounce_rate": _ratio(bounces or 0, sessions or 0),
            "visit_duration_s": round((duration or 0) / sessions / 1000, 1) if sessions else 0.0,
        }
        if dim == "goal":
            item["conversion_rate"] = _ratio(item["visitors"], total_visitors)
        out.append(item)
    return out


def event_props(q: Query, name: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Property key/value counts of one custom event (raw events: props are not rolled up)."""
    where, params = _session_where(q)
    session_cond = ""
    if q.filters:
        session_cond = (
            f"AND e.session_id IN (SELECT s.id FROM analytics_session s WHERE {where} "
            f"LIMIT {RAW_SCAN_CAP})"
        )
    else:
        params = []
    rows = _fetch(
        "SELECT j.key, j.value, COUNT(*) FROM (SELECT props FROM analytics_event e "
        "WHERE e.site_id=%s AND e.ts>=%s AND e.ts<%s AND e.kind='custom' AND e.name=%s "
        f"{session_cond} LIMIT {RAW_SCAN_CAP}) ev, json_each(ev.props) j "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT %s",
        [q.site_id, _hs(q.start), _hs(q.end), name, *params, limit],
    )
    return [{"prop": k, "value": str(v), "events": int(n)} for k, v, n in rows]


def _step_matches(step: str, kind: str, name: str, path: str) -> bool:
    if step.startswith("event:"):
        return kind == "custom" and name == step[6:]
    if step.endswith("*"):
        return kind == "pageview" and path.startswith(step[:-1])
    return kind == "pageview" and path == step


def funnel(q: Query, steps: list[str]) -> list[dict[str, Any]]:
    """Visits that reached each step in order (step n after step n-1 within one visit), with
    drop-off. Reads raw events of the range, bounded by RAW_SCAN_CAP rows (newest kept)."""
    if not steps:
        return []
    where, params = _session_where(q)
    session_cond = (
        f"AND session_id IN (SELECT s.id FROM analytics_session s WHERE {where})"
        if q.filters
        else ""
    )
    rows = _fetch(
        "SELECT session_id, kind, name, path FROM (SELECT session_id, kind, name, path, ts "
        "FROM analytics_event WHERE site_id=%s AND ts>=%s AND ts<%s "
        f"AND kind IN ('pageview','custom') {session_cond} ORDER BY ts DESC LIMIT {RAW_SCAN_CAP}) "
        "ORDER BY session_id, ts",
        [q.site_id, _hs(q.start), _hs(q.end), *(params if q.filters else [])],
    )
    reached = [0] * len(steps)
    current, pos = None, 0
    for session_id, kind, name, path in rows:
        if session_id != current:
            current, pos = session_id, 0
        if pos < len(steps) and _step_matches(steps[pos], kind, name, path):
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


# --- realtime, errors, status -------------------------------------------------------------------


def realtime_snapshot(site_id: int, *, now: float | None = None) -> dict[str, Any]:
    """Initial state of the realtime view; updates then arrive over SSE. Visitors now = visitor
    ids seen in the last 5 minutes (the worker publishes the same count live)."""
    now = now or datetime.now(UTC).timestamp()
    visitors = visitors_now(site_id=site_id, now=now)
    since = datetime.fromtimestamp(now - 1800, UTC)
    pages = _fetch(
        "SELECT path, COUNT(*) FROM (SELECT path FROM analytics_event WHERE site_id=%s AND ts>=%s "
        "AND kind='pageview' ORDER BY ts DESC LIMIT 5000) GROUP BY path ORDER BY 2 DESC LIMIT 10",
        [site_id, _hs(since)],
    )
    return {"visitors_now": int(visitors), "pages": [{"path": p, "pageviews": n} for p, n in pages]}


def issues_search(
    site_id: int, *, search: str = "", status: str = "open", limit: int = 50
) -> list[dict[str, Any]]:
    """Issues newest first; ``search`` uses the FTS5 trigram index (3+ characters) and falls
    back to LIKE for shorter terms."""
    where, params = ["i.site_id=%s"], [site_id]
    if status:
        where.append("i.status=%s")
        params.append(status)
    if search and len(search) >= 3:
        where.append(
            "i.id IN (SELECT rowid FROM analytics_issue_fts WHERE analytics_issue_fts MATCH %s)"
        )
        params.append('"' + search.replace('"', '""') + '"')
    elif search:
        where.append("(i.message LIKE %s OR i.type LIKE %s)")
        params += [f"%{search}%"] * 2
    rows = _fetch(
        "SELECT i.id, i.kind, i.type, i.message, i.culprit, i.count, i.sessions, i.status, "
        f"i.first_seen, i.last_seen FROM analytics_issue i WHERE {' AND '.join(where)} "
        "ORDER BY i.last_seen DESC LIMIT %s",
        [*params, limit],
    )
    keys = ("id", "kind", "type", "message", "culprit", "count", "sessions", "status")
    return [
        {**dict(zip(keys, r[:8], strict=True)), "first_seen": r[8], "last_seen": r[9]} for r in rows
    ]


def issue_detail(issue_id: int, *, days: int = 14) -> dict[str, Any]:
    """An issue, its occurrences per day for the last ``days`` days and 10 sample events."""
    from web.analytics.models import Issue, IssueEvent

    issue = Issue.objects.get(pk=issue_id)
    since = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - (days - 1) * DAY
    counts = dict(
        _fetch(
            "SELECT substr(ts,1,10), COUNT(*) FROM analytics_issueevent WHERE issue_id=%s "
            "AND ts>=%s GROUP BY 1",
            [issue_id, _hs(since)],
        )
    )
    series = [
        {"t": _ds(since + i * DAY), "events": int(counts.get(_ds(since + i * DAY), 0))}
        for i in range(days)
    ]
    samples = list(IssueEvent.objects.filter(issue_id=issue_id).order_by("-ts")[:10])
    return {"issue": issue, "series": series, "samples": samples}


def status_overview() -> dict[str, Any]:
    """Queue and backup health for the status page. Each part is read lazily and reports
    "not available" instead of failing the page when its app or server is missing."""
    from django.conf import settings

    out: dict[str, Any] = {}
    try:
        from web.messaging import services as msvc

        summary = getattr(msvc, "queue_summary", None)
        if summary is None:
            from web.messaging import selectors as msel  # type: ignore[attr-defined]

            summary = msel.queue_summary
        out["queues"] = summary()
    except Exception as exc:  # the page reports what it could not read
        out["queues"] = {"error": f"not available ({type(exc).__name__}: {exc})"}
    try:
        from web.messaging.models import DeadLetter

        out["dead_letters"] = DeadLetter.objects.count()
    except Exception as exc:  # as above
        out["dead_letters"] = f"not available ({type(exc).__name__})"
    try:
        from web.backups import selectors as bsel

        out["replication"] = bsel.replication_status(settings.ENV, timeout=1.0)
        tiers: dict[str, dict[str, Any]] = {}
        for run in bsel.jobruns_recent(limit=500):
            if not run.job.startswith("backup"):
                continue
            tier = tiers.setdefault(run.job, {"last": run, "last_ok": None})
            if tier["last_ok"] is None and run.outcome == "ok":
                tier["last_ok"] = run
        out["backups"] = tiers
    except Exception as exc:  # as above
        out["replication"] = {"ok": False, "detail": f"not available ({type(exc).__name__})"}
        out["backups"] = {}
    return out


def sites_for(user: Any) -> list[Site]:
    return list(Site.objects.order_by("pk")) if getattr(user, "is_staff", False) else []


def dumps(data: Any) -> str:
    return json.dumps(data, default=str, separators=(",", ":"))


def month_days(d: date) -> int:
    return calendar.monthrange(d.year, d.month)[1]
