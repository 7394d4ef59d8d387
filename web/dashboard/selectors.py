"""Reads for the dashboard, the stats API and the reports: one entry point per figure, which
picks the path that answers it exactly (see dashboard.md, "Query plan"):

- unfiltered top stats, chart and breakdowns: rollups (``rollupreads``);
- any filter, goals, props and funnels: the columnar history (``historyreads``), over the
  whole range, with no row caps.

Query parsing lives in ``querying``; realtime, error and status reads in ``statusreads``.
Visitors: a multi-day "visitors" figure is the sum of daily uniques (visitor-days), because
visitor ids change every UTC day by design (analytics.md). Labels say so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from web.analytics import goals as goal_rules
from web.dashboard import historyreads as hist
from web.dashboard import rollupreads as roll
from web.dashboard.querying import (
    BREAKDOWN_DIMS,
    COMPARE_MODES,
    DAY,
    FILTER_DIMS,
    HOUR,
    MAX_RANGE_DAYS,
    PROP_DIM,
    PROP_FILTER,
    RANGES,
    SESSION_DIMS,
    Query,
    QueryError,
    parse_query,
)
from web.dashboard.statusreads import (
    issue_detail,
    issues_search,
    realtime_snapshot,
    sites_for,
    status_overview,
)

__all__ = [
    "BREAKDOWN_DIMS",
    "COMPARE_MODES",
    "DAY",
    "FILTER_DIMS",
    "HOUR",
    "MAX_RANGE_DAYS",
    "PROP_DIM",
    "PROP_FILTER",
    "RANGES",
    "SESSION_DIMS",
    "Query",
    "QueryError",
    "breakdown",
    "compare",
    "event_props",
    "funnel",
    "history_note",
    "issue_detail",
    "issues_search",
    "parse_query",
    "reads_history",
    "realtime_snapshot",
    "sites_for",
    "status_overview",
    "timeseries",
    "top_stats",
]

MAX_LIMIT = 1000
FRESH_S = 60  # the promise (analytics.md): accepted -> in filtered views within this


def _ratio(a: float, b: float) -> float:
    return round(a / b, 4) if b else 0.0


def _stats(visitors: int, visits: int, pageviews: int, bounces: int, dur: int) -> dict[str, Any]:
    return {
        "visitors": visitors,
        "visits": visits,
        "pageviews": pageviews,
        "views_per_visit": _ratio(pageviews, visits),
        "bounce_rate": _ratio(bounces, visits),
        "visit_duration_s": round(dur / visits / 1000, 1) if visits else 0.0,
    }


def top_stats(q: Query) -> dict[str, Any]:
    """visitors (sum of daily uniques), visits, pageviews, views_per_visit, bounce_rate (0-1),
    visit_duration_s (mean engaged time per visit)."""
    return _stats(*(hist.visit_totals(q) if q.filters else roll.rollup_totals(q)))


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
        out.append(roll.ts_text(t)[:n])
        t += step
    return out


def timeseries(q: Query, *, rates: bool = False) -> list[dict[str, Any]]:
    """One point per hour (ranges up to 2 days) or per UTC day, zero-filled.
    Per day, visitors are exact daily uniques; per hour, distinct visitors in that hour.
    ``rates`` adds views_per_visit, bounce_rate and visit_duration_s per point (the chart
    of those top stats), computed as top_stats computes them."""
    hourly = q.interval == "hour"
    n = 13 if hourly else 10
    if q.filters:
        rows = hist.visit_series(q, hourly=hourly)
    else:
        rows = roll.rollup_series(q, hourly=hourly)
    by = {r[0]: r for r in rows}
    points = []
    for b in _buckets(q):
        r = by.get(b, (b, 0, 0, 0, 0, 0))
        t = datetime.fromisoformat(b + (":00" if n == 13 else "")).replace(tzinfo=UTC)
        point = {
            "t": t.isoformat().replace("+00:00", "Z"),
            "visitors": int(r[1] or 0),
            "visits": int(r[2] or 0),
            "pageviews": int(r[3] or 0),
        }
        if rates:
            stats = _stats(*(int(v or 0) for v in r[1:6]))
            point.update({k: stats[k] for k in RATE_KEYS})
        points.append(point)
    return points


RATE_KEYS = ("views_per_visit", "bounce_rate", "visit_duration_s")


def _check_dim(dim: str) -> None:
    if dim in BREAKDOWN_DIMS:
        return
    if dim.startswith(PROP_DIM) and 0 < len(dim) - len(PROP_DIM) <= 100:
        return
    raise QueryError(
        f"unknown dimension {dim!r}; use one of {', '.join(BREAKDOWN_DIMS)} or props:<name>"
    )


def breakdown(
    q: Query, dim: str, *, limit: int = 10, offset: int = 0, search: str = ""
) -> list[dict[str, Any]]:
    """Values of one dimension, best first, with visitors, visits, pageviews, events, bounce
    rate and mean visit duration; goals also get conversion_rate (converting visitors /
    visitors), pages scroll_depth (percent, None if unknown), exits exit_rate.
    ``offset`` and ``search`` (substring, any case) page through all values."""
    _check_dim(dim)
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise QueryError("offset must be 0 or more")
    if len(search) > 200:
        raise QueryError("search is longer than 200 characters")
    total_visitors = 0
    if dim == "goal":
        rows = []
        for name, n, visitors, visits in hist.goal_conversions(q):
            if search.lower() in name.lower():
                rows.append((name, 0, n, visitors, visits, 0, 0))
        rows = rows[offset : offset + limit]
        total_visitors = _goal_denominator(q)
    elif dim in ("page", "event") or dim.startswith(PROP_DIM):
        if q.filters or dim.startswith(PROP_DIM):
            rows = hist.event_breakdown(q, dim, limit=limit, offset=offset, search=search)
        else:
            rows = roll.rollup_breakdown(q, dim, limit=limit, offset=offset, search=search)
    elif q.filters:
        rows = hist.visit_breakdown(q, dim, limit=limit, offset=offset, search=search)
    else:
        rows = roll.rollup_breakdown(q, dim, limit=limit, offset=offset, search=search)
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
    if dim == "page":
        _add_page_facts(q, out)
    elif dim == "exit":
        _add_exit_rates(q, out)
    return out


def _add_page_facts(q: Query, rows: list[dict[str, Any]]) -> None:
    """Scroll depth of each page row, from the history on both paths (the rollups do not
    keep scroll): Plausible's, the mean over visits of the deepest scroll reported on the
    page; None when no engagement event reported one (or it is not sealed yet)."""
    depth = hist.page_scroll(q, [r["value"] for r in rows])
    for r in rows:
        d = depth.get(r["value"])
        r["scroll_depth"] = None if d is None else round(d, 1)


def _add_exit_rates(q: Query, rows: list[dict[str, Any]]) -> None:
    """Exit rate of each exit page: exits / pageviews of that page in the range."""
    paths = [r["value"] for r in rows]
    reader = hist.page_pageviews if q.filters else roll.rollup_pageviews
    views = reader(q, paths)
    for r in rows:
        r["exit_rate"] = min(1.0, _ratio(r["visits"], views.get(r["value"], 0)))


def _goal_denominator(q: Query) -> int:
    """Visitors for goal conversion rates: the figure the page shows (top_stats) when it is
    exact; an unfiltered range not starting at UTC midnight (the realtime hour) would divide
    by rollup visitor-days counted only in their first hour, so the history answers there."""
    if q.filters or (q.start.hour, q.start.minute) == (0, 0):
        return int(top_stats(q)["visitors"])
    return hist.visit_totals(q)[0]


def event_props(q: Query, name: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Property key/value counts of one custom event, over the whole range."""
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    rows = hist.prop_counts(q, name, limit=limit)
    return [{"prop": k, "value": str(v), "events": int(n)} for k, v, n in rows]


MAX_STEPS = 8


def funnel(q: Query, steps: list[str]) -> list[dict[str, Any]]:
    """Visits that reached each step in order (step n after step n-1 within one visit), with
    drop-off. Steps are page patterns (``*`` wildcards) or ``event:<name>``."""
    if not steps:
        return []
    if len(steps) > MAX_STEPS:
        raise QueryError(f"a funnel has at most {MAX_STEPS} steps")
    try:
        specs = [goal_rules.step_spec(step) for step in steps]
    except goal_rules.GoalError as exc:
        raise QueryError(f"funnel step: {exc}") from exc
    reached = hist.funnel_counts(q, specs)
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


# Panels and dimensions the history answers even unfiltered (rollups answer the rest).
HISTORY_PANELS = frozenset({"goal", "goals", "funnel", "funnels", "props"})


def reads_history(q: Query, panel: str | None = None) -> bool:
    """Whether ``panel`` (a panel name or dimension; None = top stats/chart) of ``q`` is
    answered by the columnar history rather than by rollups."""
    if q.filters:
        return True
    return panel is not None and (panel in HISTORY_PANELS or panel.startswith(PROP_DIM))


def history_note(q: Query, panel: str | None = None, *, now: float | None = None) -> str:
    """'' when the panel covers the whole range; else one sentence saying what it covers
    (a history retention cut, or sealing behind by more than FRESH_S). Panels answered by
    rollups are always current and whole: '' for them."""
    from web.analytics.history import engine

    if not reads_history(q, panel):
        return ""
    now = time.time() if now is None else now
    notes = []
    days = settings.ENV.analytics_history_days
    if days > 0:
        cutoff = datetime.fromtimestamp(now - days * 86400, UTC)
        if q.start < cutoff:
            notes.append(f"History is kept {days} days: figures start {cutoff:%Y-%m-%d %H:%M} UTC.")
    oldest = engine.oldest_unsealed()
    if oldest is not None and oldest < q.end and now - oldest.timestamp() > FRESH_S:
        notes.append(
            f"Events since {oldest:%Y-%m-%d %H:%M:%S} UTC are not in these figures yet "
            "(the analytics seal job is behind)."
        )
    return " ".join(notes)
