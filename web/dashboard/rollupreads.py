"""The rollup path: unfiltered panels from hourly rollups and compacted period rollups.

Hourly rows (analytics_rollup, analytics_sessionshourly) cover partial days and days not
yet compacted; this app's PeriodRollup (per day / per month) covers the rest, so a year is
12 month rows per value instead of 8,760 hourly ones (see dashboard.md, "Query plan").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connections

from web.dashboard.querying import DAY, Query, day_start


def ts_text(t: datetime) -> str:
    """Datetime as stored by Django/the worker in SQLite text columns."""
    return t.strftime("%Y-%m-%d %H:%M:%S")


def day_text(d: date | datetime) -> str:
    return d.strftime("%Y-%m-%d")


def fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connections["default"].cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def compacted_through(site_id: int) -> date | None:
    rows = fetch("SELECT through FROM dashboard_compactstate WHERE site_id=%s", [site_id])
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
    if q.start < day_start(first_day):
        hours.append((q.start, day_start(first_day)))
    if day_start(last_day) < q.end:
        hours.append((day_start(last_day), q.end))
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
# A value whose counters all went back to 0 is not listed: an exit row after the visit
# moved on to another page keeps its row at sessions=0 (issue 17, item 4).
_ANY = "SUM(pageviews) + SUM(events) + SUM(visitors_day) + SUM(sessions)"
_ORDER = {
    "page": "SUM(pageviews)",
    "event": "SUM(events)",
    "entry": "SUM(sessions)",
    "exit": "SUM(sessions)",
}


def _rollup_union(q: Query, dim: str) -> tuple[str, list[Any]]:
    """One UNION ALL over the rows that cover the range (see plan())."""
    p = plan(q, compacted_through(q.site_id))
    parts, params = [], []
    for a, b in p.hours:
        parts.append(
            f"SELECT value, {_METRICS} FROM analytics_rollup WHERE site_id=%s AND dim=%s "
            "AND hour>=%s AND hour<%s"
        )
        params += [q.site_id, dim, ts_text(a), ts_text(b)]
    for grain, (a, b) in [("d", r) for r in p.days] + [("m", r) for r in p.months]:
        parts.append(
            f"SELECT value, {_METRICS} FROM dashboard_periodrollup WHERE site_id=%s AND grain=%s "
            "AND dim=%s AND start>=%s AND start<%s"
        )
        params += [q.site_id, grain, dim, day_text(a), day_text(b)]
    return " UNION ALL ".join(parts), params


def rollup_breakdown(
    q: Query, dim: str, *, limit: int, offset: int = 0, search: str = ""
) -> list[tuple[Any, ...]]:
    """Top values of one dimension over the range: (value, pageviews, events, visitors,
    visits, bounces, duration_ms); ``search`` keeps values containing it (any case); values
    with every counter at 0 are left out."""
    union, params = _rollup_union(q, dim)
    order = _ORDER.get(dim, "SUM(visitors_day)")
    where = " WHERE instr(lower(value), lower(%s)) > 0" if search else ""
    return fetch(
        f"SELECT value, {_SUMS} FROM ({union}){where} GROUP BY value HAVING {_ANY} > 0 "
        f"ORDER BY {order} DESC, value LIMIT %s OFFSET %s",
        [*params, *([search] if search else []), limit, offset],
    )


def rollup_totals(q: Query) -> tuple[int, int, int, int, int]:
    """(visitors as visitor-days, visits, pageviews, bounces, duration_ms) of the range."""
    row = fetch(
        "SELECT SUM(visitors_day), SUM(started), SUM(pageviews), SUM(bounces), "
        "SUM(duration_ms) FROM analytics_sessionshourly WHERE site_id=%s AND hour>=%s "
        "AND hour<%s",
        [q.site_id, ts_text(q.start), ts_text(q.end)],
    )[0]
    return tuple(int(v or 0) for v in row)  # type: ignore[return-value]


def rollup_series(q: Query, *, hourly: bool) -> list[tuple[Any, ...]]:
    """(bucket text, visitors, visits, pageviews, bounces, duration_ms) per hour or UTC day."""
    n = 13 if hourly else 10
    vis = "SUM(visitors)" if hourly else "SUM(visitors_day)"
    return fetch(
        f"SELECT substr(hour,1,{n}), {vis}, SUM(started), SUM(pageviews), SUM(bounces), "
        "SUM(duration_ms) "
        "FROM analytics_sessionshourly WHERE site_id=%s AND hour>=%s AND hour<%s GROUP BY 1",
        [q.site_id, ts_text(q.start), ts_text(q.end)],
    )


def rollup_pageviews(q: Query, paths: list[str]) -> dict[str, int]:
    """Pageviews of each of ``paths`` over the range (the exit rate's denominator)."""
    if not paths:
        return {}
    union, params = _rollup_union(q, "page")
    marks = ", ".join(["%s"] * len(paths))
    rows = fetch(
        f"SELECT value, SUM(pageviews) FROM ({union}) WHERE value IN ({marks}) GROUP BY value",
        [*params, *paths],
    )
    return {v: int(n or 0) for v, n in rows}
