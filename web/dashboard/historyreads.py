"""The query path for everything rollups cannot answer: filters, goals, props, funnels.

Reads the sealed columnar history (web/analytics/history: Parquet segments, DuckDB), whole
range, no row caps. The meaning of every figure is in dashboard.md ("Filtered figures"):

- A **visit** belongs to the range when it started in it. Its facts come from all of its
  events: exit = last pageview, bounce = fewer than two pageviews and no custom event,
  duration = engaged time. Its attributes (source … OS, entry) are its first event's.
- A filter keeps visits: on an attribute, entry or exit it compares the visit's value;
  ``page``, ``event``, ``goal`` and ``prop:<key>`` keep visits that have such an event.
- Event panels (pages, events, goals, props) count the range's events of kept visits.

Every event of a visit lies within ``span`` of its start (tracked by the sealer), so a
query reads ``[start - 2·span, end + 2·span)`` and sees whole visits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from web.analytics import goals as goal_rules
from web.analytics.history import engine
from web.analytics.history.schema import SESSION_ATTRS
from web.analytics.models import Goal
from web.analytics.steps import SESSION_EPOCH

ATTRS = SESSION_ATTRS
# A visit's attributes are constant over its events: these filter rows directly.
ROW_FILTERS = {**{d: d for d in ATTRS}, "entry": "entry"}
# A session id holds its start second (since steps.SESSION_EPOCH) in its high 32 bits: the
# start, its day and hour come from a column every query reads anyway (no `started` read).
_START_S = f"((session_id >> 32) + {SESSION_EPOCH})"
_VISIT_KEY = "(start_s // 86400, vid)"
_EVENT_VISITOR = "(ts::DATE, visitor_id)"


@dataclass(frozen=True)
class Scope:
    """The rows one query reads and the visit filters it applies."""

    site_id: int
    start: datetime  # naive UTC
    end: datetime
    lo: datetime  # window read for whole visits
    hi: datetime
    row_where: tuple[str, ...]
    row_params: tuple[Any, ...]
    has: tuple[tuple[str, tuple[Any, ...]], ...]  # visit has an event matching (cond, params)
    exit: str | None


def _naive(t: datetime) -> datetime:
    return engine._naive(t)


def session_key(t: datetime) -> int:
    """The smallest session id of a visit starting at or after ``t`` (a whole second)."""
    return (int(t.replace(tzinfo=UTC).timestamp()) - SESSION_EPOCH) << 32


def event_condition(site_id: int, dim: str, value: str) -> tuple[str, list[Any]]:
    """The event condition of a ``page``/``event``/``goal``/``prop:<key>`` filter."""
    if dim == "page":
        return goal_rules.sql_condition("page", goal_rules.normalise_pattern("page", value))
    if dim == "event":
        return "(kind = 'custom' AND name = ?)", [value]
    if dim == "goal":
        goal = Goal.objects.filter(site_id=site_id, name=value).first()
        if goal is None:
            return "FALSE", []
        return goal_rules.sql_condition(
            goal.kind, goal_rules.normalise_pattern(goal.kind, goal.match)
        )
    if dim.startswith("prop:"):
        return "(kind = 'custom' AND props[?] = ?)", [dim[5:], value]
    raise ValueError(f"not an event filter: {dim}")


def scope(q: Any, snap: engine.Snapshot) -> Scope:
    start, end = _naive(q.start), _naive(q.end)
    pad = 2 * snap.span
    row_where: list[str] = []
    row_params: list[Any] = []
    has = []
    exit_value = None
    for dim, value in q.filters.items():
        if dim in ROW_FILTERS:
            row_where.append(f"{ROW_FILTERS[dim]} = ?")
            row_params.append(value)
        elif dim == "exit":
            exit_value = value
            # A visit that exits on a page has viewed it: only those visits are aggregated.
            has.append(("(kind = 'pageview' AND path = ?)", (value,)))
        else:
            cond, params = event_condition(q.site_id, dim, value)
            has.append((cond, tuple(params)))
    return Scope(
        q.site_id,
        start,
        end,
        start - pad,
        end + pad,
        tuple(row_where),
        tuple(row_params),
        tuple(has),
        exit_value,
    )


def _visit_rows(s: Scope, *, started_in_range: bool) -> tuple[str, list[Any]]:
    """SELECT of the events of kept visits (before the exit filter), as ``{ev}`` rows."""
    where = ["site_id = ?", "ts >= ?", "ts < ?", "session_id != 0", *s.row_where]
    params: list[Any] = [s.site_id, s.lo, s.hi, *s.row_params]
    if started_in_range:
        where += ["session_id >= ?", "session_id < ?"]
        params += [session_key(s.start), session_key(s.end)]
    for cond, cp in s.has:
        where.append(
            "session_id IN (SELECT session_id FROM {ev} WHERE site_id = ? AND ts >= ? "
            f"AND ts < ? AND session_id != 0 AND {cond})"
        )
        params += [s.site_id, s.lo, s.hi, *cp]
    return f"SELECT * FROM {{ev}} WHERE {' AND '.join(where)}", params


# Visits merge their per-segment partials (schema.VISITS_FROM_EVENTS): sums, the first
# event's visitor id and the last pageview's path by seq, exactly as over the events.
_PARTIAL_EXIT = "coalesce(arg_max(exit, last_pv_seq), '')"
_VISIT_FACTS = (
    f"SELECT session_id, any_value({_START_S}) AS start_s, "
    "arg_min(first_vid, first_seq) AS vid, sum(pv) AS pv, sum(ce) AS ce, sum(dur) AS dur, "
    f"{_PARTIAL_EXIT} AS exit{{cols}} FROM {{{{vis}}}} WHERE {{where}} GROUP BY session_id"
)


def _has_conditions(s: Scope) -> tuple[list[str], list[Any]]:
    """``session_id IN (...)`` semi-joins for the "has an event" filters."""
    conds: list[str] = []
    params: list[Any] = []
    for cond, cp in s.has:
        conds.append(
            "session_id IN (SELECT session_id FROM {ev} WHERE site_id = ? AND ts >= ? "
            f"AND ts < ? AND session_id != 0 AND {cond})"
        )
        params += [s.site_id, s.lo, s.hi, *cp]
    return conds, params


def _visits_cte(s: Scope, cols: Sequence[str] = ()) -> tuple[str, list[Any]]:
    """``WITH visits AS (...)``: one row per kept visit started in range."""
    has, has_params = _has_conditions(s)
    where = ["site_id = ?", "session_id >= ?", "session_id < ?", *s.row_where, *has]
    params: list[Any] = [s.site_id, session_key(s.start), session_key(s.end)]
    params += [*s.row_params, *has_params]
    extra = "".join(f", any_value({c}) AS {c}" for c in cols)
    visits = _VISIT_FACTS.format(cols=extra, where=" AND ".join(where))
    having = ""
    if s.exit is not None:
        having = f" HAVING {_PARTIAL_EXIT} = ?"
        params.append(s.exit)
    return f"WITH visits AS ({visits}{having})", params


def _exit_sessions(s: Scope, first_key: int, end_key: int) -> tuple[str, list[Any]]:
    """SELECT of the ids of kept visits (ids in [first_key, end_key)) exiting on s.exit."""
    has, has_params = _has_conditions(s)
    where = ["site_id = ?", "session_id >= ?", "session_id < ?", *s.row_where, *has]
    return (
        f"SELECT session_id FROM {{vis}} WHERE {' AND '.join(where)} "
        f"GROUP BY session_id HAVING {_PARTIAL_EXIT} = ?",
        [s.site_id, first_key, end_key, *s.row_params, *has_params, s.exit],
    )


def _kept_sessions(s: Scope) -> tuple[str, list[Any]]:
    """A condition on event rows: their visit passes the filters (any start)."""
    conds, params = _has_conditions(s)
    if s.exit is not None:
        # A visit with an event in the range started within span of it: inside [lo, hi).
        exit_sql, exit_params = _exit_sessions(s, session_key(s.lo), session_key(s.hi))
        conds.append(f"session_id IN ({exit_sql})")
        params += exit_params
    conds += list(s.row_where)
    params += list(s.row_params)
    return (" AND ".join(conds) or "TRUE"), params


def _run(s: Scope, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return engine.run(sql, params, start=s.lo, end=s.hi)


# --- visit panels ---------------------------------------------------------------------------


def visit_totals(q: Any) -> tuple[int, int, int, int, int]:
    """(visitors, visits, pageviews, bounces, duration_ms) of the kept visits."""
    s = scope(q, engine.snapshot())
    cte, params = _visits_cte(s)
    row = _run(
        s,
        f"{cte} SELECT count(DISTINCT {_VISIT_KEY}), count(*), coalesce(sum(pv), 0), "
        "count(*) FILTER (WHERE pv < 2 AND ce = 0), coalesce(sum(dur), 0) FROM visits",
        params,
    )[0]
    return tuple(int(v or 0) for v in row)  # type: ignore[return-value]


def visit_series(q: Any, *, hourly: bool) -> list[tuple[Any, ...]]:
    """(bucket text, visitors, visits, pageviews, bounces, duration_ms) per hour or UTC day
    of visit start."""
    s = scope(q, engine.snapshot())
    cte, params = _visits_cte(s)
    fmt, step = ("%Y-%m-%d %H", 3600) if hourly else ("%Y-%m-%d", 86400)
    rows = _run(
        s,
        f"{cte} SELECT start_s // {step} AS b, count(DISTINCT {_VISIT_KEY}), count(*), "
        "coalesce(sum(pv), 0), count(*) FILTER (WHERE pv < 2 AND ce = 0), "
        "coalesce(sum(dur), 0) FROM visits GROUP BY b",
        params,
    )
    return [(datetime.fromtimestamp(r[0] * step, UTC).strftime(fmt), *r[1:]) for r in rows]


def _page(search: str, limit: int, offset: int) -> tuple[str, str, list[Any]]:
    where = " AND contains(lower(value), lower(?))" if search else ""
    return where, "LIMIT ? OFFSET ?", ([search] if search else []) + [limit, offset]


def visit_breakdown(
    q: Any, dim: str, *, limit: int, offset: int = 0, search: str = ""
) -> list[tuple[Any, ...]]:
    """Kept visits grouped by an attribute, entry or exit: (value, pageviews, events,
    visitors, visits, bounces, duration_ms)."""
    s = scope(q, engine.snapshot())
    col = "exit" if dim == "exit" else ROW_FILTERS[dim]
    cte, params = _visits_cte(s, () if dim == "exit" else (col,))
    where, page, pp = _page(search, limit, offset)
    order = "visits" if dim in ("entry", "exit") else "visitors"
    return _run(
        s,
        f"{cte} SELECT * FROM (SELECT {col} AS value, sum(pv) AS pageviews, sum(ce) AS events, "
        f"count(DISTINCT {_VISIT_KEY}) AS visitors, count(*) AS visits, "
        "count(*) FILTER (WHERE pv < 2 AND ce = 0) AS bounces, sum(dur) AS dur FROM visits "
        f"GROUP BY {col}) WHERE value != ''{where} ORDER BY {order} DESC, value {page}",
        params + pp,
    )


# --- event panels -------------------------------------------------------------------------


def _events_where(
    s: Scope, kind_cond: str, kind_params: Sequence[Any] = ()
) -> tuple[str, list[Any]]:
    kept, params = _kept_sessions(s)
    return (
        f"site_id = ? AND ts >= ? AND ts < ? AND {kind_cond} AND {kept}",
        [s.site_id, s.start, s.end, *kind_params, *params],
    )


def event_breakdown(
    q: Any, dim: str, *, limit: int, offset: int = 0, search: str = ""
) -> list[tuple[Any, ...]]:
    """Pages (pageviews), custom events or one prop's values (``props:<key>``) of the range's
    events of kept visits: (value, pageviews, events, visitors, visits, 0, 0)."""
    s = scope(q, engine.snapshot())
    if dim == "page":
        col, col_params = "path", []
        where, params = _events_where(s, "kind = 'pageview'")
    elif dim == "event":
        col, col_params = "name", []
        where, params = _events_where(s, "kind = 'custom'")
    else:
        key = dim.split(":", 1)[1]
        col, col_params = "props[?]", [key]
        where, params = _events_where(s, "kind = 'custom' AND props[?] IS NOT NULL", [key])
    pwhere, page, pp = _page(search, limit, offset)
    return _run(
        s,
        f"SELECT * FROM (SELECT {col} AS value, count(*) FILTER (WHERE kind = 'pageview') AS pv, "
        f"count(*) FILTER (WHERE kind = 'custom') AS ce, count(DISTINCT {_EVENT_VISITOR}), "
        f"count(DISTINCT session_id), 0, 0 FROM {{ev}} WHERE {where} GROUP BY value) "
        f"WHERE TRUE{pwhere} ORDER BY pv + ce DESC, value {page}",
        [*col_params, *params, *pp],
    )


def goal_conversions(q: Any) -> list[tuple[str, int, int, int]]:
    """Every goal of the site (retroactive: matched on the history at query time):
    (name, conversions, converting visitors, converting visits), goals with none left out."""
    goals = list(Goal.objects.filter(site_id=q.site_id).order_by("name"))
    if not goals:
        return []
    s = scope(q, engine.snapshot())
    cols, cp, conds, any_params = [], [], [], []
    for g in goals:
        cond, gp = goal_rules.sql_condition_for_goal(g.kind, g.match)
        cols.append(
            f"count(*) FILTER (WHERE {cond}), count(DISTINCT {_EVENT_VISITOR}) FILTER "
            f"(WHERE {cond}), count(DISTINCT session_id) FILTER (WHERE {cond})"
        )
        cp += gp * 3
        conds.append(cond)
        any_params += gp
    # Only events converting some goal reach the aggregates (a small share of the range).
    where, params = _events_where(s, f"({' OR '.join(conds)})", any_params)
    row = _run(s, f"SELECT {', '.join(cols)} FROM {{ev}} WHERE {where}", cp + params)[0]
    out = []
    for i, g in enumerate(goals):
        n, visitors, visits = (int(v or 0) for v in row[3 * i : 3 * i + 3])
        if n:
            out.append((g.name, n, visitors, visits))
    out.sort(key=lambda r: (-r[2], r[0]))
    return out


def prop_counts(q: Any, name: str, *, limit: int) -> list[tuple[str, str, int]]:
    """(key, value, events) over the props of custom events named ``name``."""
    s = scope(q, engine.snapshot())
    where, params = _events_where(s, "kind = 'custom' AND name = ?", [name])
    return _run(
        s,
        "SELECT k, v, count(*) AS n FROM (SELECT unnest(map_keys(props)) AS k, "
        f"unnest(map_values(props)) AS v FROM {{ev}} WHERE {where}) "
        "GROUP BY k, v ORDER BY n DESC, k, v LIMIT ?",
        [*params, limit],
    )


def funnel_counts(q: Any, steps: Sequence[tuple[str, str]]) -> list[int]:
    """Kept visits reaching each step in order: the first event matching step 1, then the
    first later event (by time, then arrival) matching step 2, and so on."""
    s = scope(q, engine.snapshot())
    rows_sql, params = _visit_rows(s, started_in_range=True)
    if s.exit is not None:
        exit_sql, exit_params = _exit_sessions(s, session_key(s.start), session_key(s.end))
        rows_sql = f"{rows_sql} AND session_id IN ({exit_sql})"
        params = [*params, *exit_params]
    conds, cparams = [], []
    for kind, pattern in steps:
        cond, cp = goal_rules.sql_condition(kind, pattern)
        conds.append(cond)
        cparams.append(cp)
    flags = ", ".join(f"{c} AS c{i}" for i, c in enumerate(conds))
    flag_params = [p for cp in cparams for p in cp]
    any_step = " OR ".join(conds)
    ctes = [
        f"rows AS ({rows_sql})",
        f"m AS (SELECT session_id, {{'t': ts, 'q': seq}} AS o, {flags} FROM rows WHERE {any_step})",
        "s0 AS (SELECT session_id, min(o) AS o FROM m WHERE c0 GROUP BY session_id)",
    ]
    for i in range(1, len(steps)):
        ctes.append(
            f"s{i} AS (SELECT m.session_id, min(m.o) AS o FROM m JOIN s{i - 1} p "
            f"ON m.session_id = p.session_id WHERE m.c{i} AND m.o > p.o GROUP BY m.session_id)"
        )
    counts = ", ".join(f"(SELECT count(*) FROM s{i})" for i in range(len(steps)))
    row = _run(
        s,
        f"WITH {', '.join(ctes)} SELECT {counts}",
        [*params, *flag_params, *flag_params],
    )[0]
    return [int(v) for v in row]


def page_scroll(q: Any, paths: Sequence[str]) -> dict[str, float]:
    """Scroll depth of each of ``paths`` (Plausible's): the mean, over kept visits with an
    engagement event on the page in the range, of the deepest scroll (percent) they reported
    there. Paths nobody scrolled on are absent. Engagement rows only, grouped by (path,
    visit) before the mean (a visit's several engagement events on a page count once)."""
    if not paths:
        return {}
    s = scope(q, engine.snapshot())
    marks = ", ".join("?" * len(paths))
    where, params = _events_where(
        s, f"kind = 'engagement' AND scroll > 0 AND path IN ({marks})", list(paths)
    )
    rows = _run(
        s,
        "SELECT path, avg(sd) FROM (SELECT path, session_id, max(scroll) AS sd FROM {ev} "
        f"WHERE {where} GROUP BY path, session_id) GROUP BY path",
        params,
    )
    return {p: float(sd) for p, sd in rows if sd is not None}


def page_pageviews(q: Any, paths: Sequence[str]) -> dict[str, int]:
    """Pageviews of each of ``paths`` in the range's events of kept visits."""
    if not paths:
        return {}
    s = scope(q, engine.snapshot())
    marks = ", ".join("?" * len(paths))
    where, params = _events_where(s, f"kind = 'pageview' AND path IN ({marks})", list(paths))
    rows = _run(s, f"SELECT path, count(*) FROM {{ev}} WHERE {where} GROUP BY path", params)
    return {p: int(n) for p, n in rows}
