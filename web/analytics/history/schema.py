"""The segment schema: one row per stored event, with its session's first-event attributes.

This is the documented, open format owners query themselves ("SQL over your own analytics"
in analytics.md). Change it only with a new ``VERSION`` and a migration of old segments.
"""

from __future__ import annotations

VERSION = 1

# (column, DuckDB type, SQLite expression over analytics_event e LEFT JOIN analytics_session s)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("site_id", "INTEGER", "e.site_id"),
    ("ts", "TIMESTAMP", "e.ts"),
    ("seq", "BIGINT", "e.id"),
    ("kind", "VARCHAR", "e.kind"),
    ("name", "VARCHAR", "e.name"),
    ("hostname", "VARCHAR", "e.hostname"),
    ("path", "VARCHAR", "e.path"),
    ("visitor_id", "BIGINT", "e.visitor_id"),
    ("session_id", "BIGINT", "e.session_id"),
    ("started", "TIMESTAMP", "s.started_at"),
    ("entry", "VARCHAR", "s.entry_path"),
    ("source", "VARCHAR", "coalesce(s.source, e.source)"),
    ("medium", "VARCHAR", "coalesce(s.medium, e.medium)"),
    ("referrer", "VARCHAR", "coalesce(s.referrer, e.referrer)"),
    ("utm_source", "VARCHAR", "s.utm_source"),
    ("utm_medium", "VARCHAR", "s.utm_medium"),
    ("utm_campaign", "VARCHAR", "coalesce(s.utm_campaign, e.utm_campaign)"),
    ("utm_term", "VARCHAR", "s.utm_term"),
    ("utm_content", "VARCHAR", "s.utm_content"),
    ("click_id", "VARCHAR", "s.click_id"),
    ("country", "VARCHAR", "coalesce(s.country, e.country)"),
    ("device", "VARCHAR", "coalesce(s.device, e.device)"),
    ("browser", "VARCHAR", "coalesce(s.browser, e.browser)"),
    ("os", "VARCHAR", "coalesce(s.os, e.os)"),
    ("screen", "INTEGER", "e.screen"),
    ("lang", "VARCHAR", "e.lang"),
    ("engaged_ms", "INTEGER", "e.engaged_ms"),
    ("scroll", "INTEGER", "e.scroll"),
    ("props", "VARCHAR", "e.props"),
)

NAMES = tuple(c for c, _, _ in COLUMNS)

# Sealing reads the hot rows in id order; the session join gives every event its visit's
# attributes once and for all (they never change after the session's first event).
SELECT_HOT = (
    "SELECT "
    + ", ".join(expr for _, _, expr in COLUMNS)
    + " FROM analytics_event e LEFT JOIN analytics_session s"
    " ON s.id = e.session_id AND e.session_id != 0 WHERE e.id > %s ORDER BY e.id LIMIT %s"
)

_TEXT = {c for c, t, _ in COLUMNS if t == "VARCHAR"}


def csv_columns() -> str:
    """``columns=`` of DuckDB's read_csv: every column read as text or its own type."""
    return (
        "{"
        + ", ".join(f"'{c}': '{t}'" for c, t, _ in COLUMNS if c != "props")
        + (", 'props': 'VARCHAR'}")
    )


def from_csv_select() -> str:
    """SELECT list turning a CSV row into a segment row: NULL text becomes '', props become
    a MAP(VARCHAR, VARCHAR) (values are strings: ingest keeps props as strings)."""
    out = []
    for c, _, _ in COLUMNS:
        if c == "props":
            out.append(
                "CAST(CASE WHEN props IS NULL OR props = '' THEN '{}' ELSE props END AS JSON)"
                "::MAP(VARCHAR, VARCHAR) AS props"
            )
        elif c in _TEXT:
            out.append(f"coalesce({c}, '') AS {c}")
        elif c in ("screen", "engaged_ms", "scroll", "visitor_id", "session_id"):
            out.append(f"coalesce({c}, 0) AS {c}")
        else:
            out.append(c)
    return ", ".join(out)


# --- visit partials: the companion file of every segment ---------------------------------
# One row per (site, visit) with events in the segment: the visit's facts over those events.
# They merge exactly (sums, and the first/last event by seq), so a query over many segments
# groups a few rows per visit instead of every event (ADR-15: 5x fewer rows for visit
# panels). Always derived from the segment's events: never uploaded, rebuilt when missing.
# A visit's attributes (its first event's): the filterable and breakdown dimensions.
SESSION_ATTRS = (
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
VISIT_ATTRS = ("entry", *SESSION_ATTRS)

VISITS_FROM_EVENTS = (
    "SELECT site_id, session_id, "
    + ", ".join(f"any_value({c}) AS {c}" for c in VISIT_ATTRS)
    + ", count(*) FILTER (WHERE kind = 'pageview')::BIGINT AS pv, "
    "count(*) FILTER (WHERE kind = 'custom')::BIGINT AS ce, "
    "coalesce(sum(engaged_ms) FILTER (WHERE kind = 'engagement'), 0)::BIGINT AS dur, "
    "min(seq) AS first_seq, arg_min(visitor_id, seq) AS first_vid, "
    "max(seq) FILTER (WHERE kind = 'pageview') AS last_pv_seq, "
    "arg_max(path, seq) FILTER (WHERE kind = 'pageview') AS exit "
    "FROM read_parquet(?) WHERE session_id != 0 GROUP BY site_id, session_id "
    "ORDER BY site_id, session_id"
)


def visits_name(segment: str) -> str:
    """The companion file of a segment file."""
    return segment.removesuffix(".parquet") + ".visits.parquet"


VISIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("site_id", "INTEGER"),
    ("session_id", "BIGINT"),
    *((c, "VARCHAR") for c in VISIT_ATTRS),
    ("pv", "BIGINT"),
    ("ce", "BIGINT"),
    ("dur", "BIGINT"),
    ("first_seq", "BIGINT"),
    ("first_vid", "BIGINT"),
    ("last_pv_seq", "BIGINT"),
    ("exit", "VARCHAR"),
)
