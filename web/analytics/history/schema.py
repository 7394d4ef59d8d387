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
