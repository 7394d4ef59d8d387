"""Reads of the analytics domain for dashboards and admin: rollups, the hourly graph, live
numbers and issue search. Dashboards read rollups, never raw events."""

from __future__ import annotations

import time
from datetime import datetime

from django.db import connections
from django.db.models import Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from web.analytics.models import Issue, Rollup, SessionsHourly
from web.analytics.timefmt import ts_str
from web.analytics.visitorstates import LIVE_WINDOW_S


def rollup_top(
    *, site_id: int, dim: str, start: datetime, end: datetime, order: str = "pageviews",
    limit: int = 20,
) -> list[dict]:  # fmt: skip
    """Top values of one dimension over [start, end). `visitors_day` summed over days is
    visitor-days (see docs/architecture/analytics.md)."""
    return list(
        Rollup.objects.filter(site_id=site_id, dim=dim, hour__gte=start, hour__lt=end)
        .values("value")
        .annotate(
            pageviews=Sum("pageviews"),
            events=Sum("events"),
            visitors=Sum("visitors_day"),
            sessions=Sum("sessions"),
            bounces=Sum("bounces"),
            duration_ms=Sum("duration_ms"),
        )
        .order_by(f"-{order}", "value")[:limit]
    )


def sessions_graph(*, site_id: int, start: datetime, end: datetime) -> QuerySet[SessionsHourly]:
    """The hourly graph rows over [start, end), oldest first."""
    return SessionsHourly.objects.filter(site_id=site_id, hour__gte=start, hour__lt=end).order_by(
        "hour"
    )


def visitors_now(*, site_id: int, now: float | None = None) -> int:
    """Visitors with an event in the last 5 minutes, i.e. whose session was active then (the
    worker publishes the same count live, from its visitor states in memory). Read from raw
    events through their (site, ts) index: sessions have no last_seen index (models.py)."""
    now = time.time() if now is None else now
    with connections["default"].cursor() as cur:
        cur.execute(
            "SELECT COUNT(DISTINCT visitor_id) FROM analytics_event "
            "WHERE site_id = %s AND ts >= %s",
            [site_id, ts_str(now - LIVE_WINDOW_S)],
        )
        return int(cur.fetchone()[0])


def issue_list(*, site_id: int | None = None, status: str | None = "open") -> QuerySet[Issue]:
    qs = Issue.objects.all()
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-last_seen")


def issue_search(
    *, q: str = "", site_id: int | None = None, status: str | None = None, limit: int = 50
) -> list[Issue]:
    """Issues newest first, of one site and one status if given, whose type, message or
    culprit contain ``q`` (any fragment, case-insensitive): through the FTS5 trigram index
    for 3+ characters, LIKE for shorter terms; an empty ``q`` matches every issue. The one
    issue search: the dashboard's error list reads it through statusreads."""
    qs = Issue.objects.all()
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if status:
        qs = qs.filter(status=status)
    q = q.strip()
    if len(q) >= 3:
        phrase = '"' + q.replace('"', '""') + '"'  # one literal phrase, no FTS operators
        fts = "SELECT rowid FROM analytics_issue_fts WHERE analytics_issue_fts MATCH %s"
        qs = qs.filter(id__in=RawSQL(fts, [phrase]))
    elif q:
        qs = qs.filter(Q(type__icontains=q) | Q(message__icontains=q) | Q(culprit__icontains=q))
    return list(qs.order_by("-last_seen")[:limit])
