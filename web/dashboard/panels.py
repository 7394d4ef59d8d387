"""Panel definitions shared by the HTML views, CSV/zip export and the benchmark: a panel name
maps to a function Query -> rows (a list of flat dicts)."""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from django.utils.html import escape

from web.dashboard import selectors as sel
from web.dashboard.querying import MAX_PROP_KEY

# Breakdown panels: name -> (dimension, title)
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "pages": ("page", "Top pages"),
    "entry": ("entry", "Entry pages"),
    "exit": ("exit", "Exit pages"),
    "sources": ("source", "Sources"),
    "referrers": ("referrer", "Referrers"),
    "utm_source": ("utm_source", "UTM source"),
    "utm_medium": ("utm_medium", "UTM medium"),
    "utm_campaign": ("utm_campaign", "UTM campaign"),
    "countries": ("country", "Countries"),
    "devices": ("device", "Devices"),
    "browsers": ("browser", "Browsers"),
    "os": ("os", "Operating systems"),
    "events": ("event", "Custom events"),
    "goals": ("goal", "Goals"),
}
PANELS = ("top", "chart", *BREAKDOWNS, "funnels")

# Each breakdown's metrics as (row key, label, format), format int, pct, s or scroll. The
# details view and the CSV show all of them; the panel the first PANEL_METRICS (the ones
# that mean something at a glance). A column a path cannot fill is not offered: exits are
# counted per visit only, pages have no bounce or visit duration (issue 17, item 4).
DETAILS_PAGE_SIZE = 100
_VISITS = [
    ("visitors", "Visitors", "int"),
    ("visits", "Visits", "int"),
    ("pageviews", "Pageviews", "int"),
    ("bounce_rate", "Bounce rate", "pct"),
    ("visit_duration_s", "Visit duration", "s"),
]
_EVENTS = [
    ("events", "Events", "int"),
    ("visitors", "Visitors", "int"),
    ("visits", "Visits", "int"),
]
_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    # No visits: page rollups do not count them (the CSV had visits=0 on every row), and
    # Plausible's pages report has none either.
    "page": [("pageviews", "Pageviews", "int"), _EVENTS[1],
             ("scroll_depth", "Scroll depth", "scroll")],
    "entry": [_VISITS[1], _VISITS[0], *_VISITS[2:]],
    "exit": [("visits", "Exits", "int"), ("exit_rate", "Exit rate", "pct")],
    "event": _EVENTS,
    "goal": [_VISITS[0], _EVENTS[0], ("conversion_rate", "Conversion rate", "pct")],
}  # fmt: skip
# Metrics the panel shows, by row key (the rest are in details and the CSV).
_PANEL_KEYS: dict[str, tuple[str, ...]] = {
    "page": ("pageviews", "visitors", "scroll_depth"),  # ordered by pageviews
    "entry": ("visits", "bounce_rate"),
    "exit": ("visits", "exit_rate"),
    "event": ("events", "visitors"),
    "goal": ("visitors", "conversion_rate"),
}
_PANEL_DEFAULT = ("visitors", "bounce_rate")
MAX_SEARCH = 200


def details_target(name: str, key: str = "") -> tuple[str, str, str]:
    """(breakdown dimension, title, filter parameter) of a details view: a breakdown panel's
    name, or ``props`` with the property ``key`` (the values of one custom event property).
    Raises QueryError for anything else."""
    if name in BREAKDOWNS:
        dim, title = BREAKDOWNS[name]
        return dim, title, dim
    if name == "props":
        key = key.strip()
        if not 0 < len(key) <= MAX_PROP_KEY:
            raise sel.QueryError(
                f"props details need key=<property name> (1 to {MAX_PROP_KEY} characters)"
            )
        return f"{sel.PROP_DIM}{key}", f"Property {key}", f"{sel.PROP_FILTER}{key}"
    raise sel.QueryError(
        f"unknown panel {name!r} for details; use one of {', '.join(BREAKDOWNS)} or props"
    )


def detail_columns(dim: str) -> list[tuple[str, str, str]]:
    if dim.startswith("props:"):
        return _EVENTS
    return _COLUMNS.get(dim, _VISITS)


def panel_columns(dim: str) -> list[tuple[str, str, str]]:
    """The metrics a breakdown panel shows (a subset of its details columns, in order)."""
    keys = _PANEL_KEYS.get(dim, _PANEL_DEFAULT)
    by_key = {k: c for c in detail_columns(dim) for k in [c[0]]}
    return [by_key[k] for k in keys]


def fmt_cell(value: Any, kind: str) -> str:
    """A metric as the tables show it: 1,234 / 42% / 1m 05s / 2.30 / 63% scrolled, and
    '-' for a scroll depth nobody reported."""
    if kind == "pct":
        return f"{round((value or 0) * 100)}%"
    if kind == "scroll":
        return "\u2013" if value is None else f"{math.floor(value + 0.5)}%"  # half up
    if kind == "ratio":
        return f"{float(value or 0):.2f}"
    if kind == "s":
        s = round(value or 0)
        if s >= 3600:
            return f"{s // 3600}h {s % 3600 // 60:02d}m"
        return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"
    return f"{int(value or 0):,}"


def country_name(code: str) -> str:
    """The English name of an ISO alpha-2 code (from the map's data); the code if unknown."""
    c = world()["countries"].get(code)
    return c["n"] if c else code


def csv_rows(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A breakdown's rows reduced to the columns its details view shows (the CSV matches
    the page: no column of zeros a path does not count); countries also get their name.
    Other panels' rows pass unchanged."""
    if name not in BREAKDOWNS:
        return rows
    dim = BREAKDOWNS[name][0]
    keys = [k for k, _, _ in detail_columns(dim)]
    out = []
    for r in rows:
        item = {"value": r["value"], **{k: r.get(k) for k in keys}}
        if dim == "country":
            item["name"] = country_name(r["value"])
        out.append(item)
    return out


def breakdown_page(
    q: sel.Query, dim: str, *, limit: int, offset: int = 0, search: str = ""
) -> tuple[list[dict[str, Any]], bool]:
    """One page of a breakdown's whole ordered list, and whether rows follow it. Asks for
    one row more than it shows instead of counting every value."""
    if limit < 1000:
        rows = sel.breakdown(q, dim, limit=limit + 1, offset=offset, search=search)
        return rows[:limit], len(rows) > limit
    rows = sel.breakdown(q, dim, limit=limit, offset=offset, search=search)
    more = len(rows) == limit and bool(
        sel.breakdown(q, dim, limit=1, offset=offset + limit, search=search)
    )
    return rows, more


def panel_rows(name: str, q: sel.Query, *, limit: int = 10) -> list[dict[str, Any]]:
    """Rows of one panel (the same data the HTML shows and the CSV exports)."""
    if name == "top":
        return [{"metric": k, "value": v} for k, v in sel.top_stats(q).items()]
    if name == "chart":
        return sel.timeseries(q)
    if name in BREAKDOWNS:
        return sel.breakdown(q, BREAKDOWNS[name][0], limit=limit)
    if name == "funnels":
        from web.dashboard.models import Funnel

        rows = []
        for f in Funnel.objects.filter(site_id=q.site_id).order_by("name"):
            rows += [{"funnel": f.name, **step} for step in sel.funnel(q, list(f.steps))]
        return rows
    raise sel.QueryError(f"unknown panel {name!r}; use one of {', '.join(PANELS)}")


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(v: Any) -> Any:
    """Paths, referrers and event names come from visitors: a value that a spreadsheet would
    run as a formula ("=HYPERLINK(...)") is prefixed with a quote (CSV injection)."""
    if isinstance(v, str) and v.startswith(_FORMULA):
        return "'" + v
    return v


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
    return buf.getvalue()


def zip_all(q: sel.Query) -> bytes:
    """Every panel of the range as CSV files in one zip (breakdowns up to 1,000 rows)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in PANELS:
            z.writestr(f"{name}.csv", to_csv(csv_rows(name, panel_rows(name, q, limit=1000))))
    return buf.getvalue()


WORLD_PATH = Path(__file__).parent / "static" / "dashboard" / "world.json"


@cache
def world() -> dict[str, Any]:
    """Simplified country shapes (from @svg-maps/world, CC BY 4.0), keyed by ISO alpha-2."""
    return json.loads(WORLD_PATH.read_text())


def shade(value: int, top: int) -> str:
    """Fill colour from pale to deep blue by share of the top country (square-root scale,
    so small countries still show)."""
    if not value or not top:
        return "#e8ebf0"
    f = (value / top) ** 0.5
    lo, hi = (214, 228, 247), (29, 78, 216)
    r, g, b = (round(a + (c - a) * f) for a, c in zip(lo, hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def world_map(rows: list[dict[str, Any]]) -> str:
    """The world map as SVG paths with fills by visitors (rows: the countries breakdown).
    Built as a string, not in the template: 256 template loop iterations cost more than
    every query of the panel."""
    by = {r["value"]: r["visitors"] for r in rows}
    top = max(by.values(), default=0)
    return "".join(
        f'<path d="{c["d"]}" fill="{shade(by.get(code, 0), top)}" data-code="{code}">'
        f"<title>{escape(c['n'])}: {by.get(code, 0)}</title></path>"
        for code, c in world()["countries"].items()
    )


def centroids() -> dict[str, list[int]]:
    return {code: c["c"] for code, c in world()["countries"].items()}


PanelFunc = Callable[[sel.Query], list[dict[str, Any]]]
