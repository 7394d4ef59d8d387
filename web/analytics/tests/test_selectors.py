"""Reads for dashboards: top values over a range, the hourly graph, visitors now, admin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from web.analytics.models import Site
from web.analytics.selectors import issue_list, rollup_top, sessions_graph, visitors_now
from web.analytics.services import events_process_batch
from web.core.testing.events import DAY0, UA_IPHONE, ev

pytestmark = pytest.mark.django_db
T = DAY0 + 9 * 3600


def test_rollup_top_sums_hours_and_days_as_visitor_days():
    events_process_batch(
        payloads=[
            ev(T, url="https://hearth.test/a"),
            ev(T + 3600, url="https://hearth.test/a"),  # same visitor, next hour
            ev(T + 10, url="https://hearth.test/b", ip="198.51.100.3", ua=UA_IPHONE),
            ev(T + 86400, url="https://hearth.test/a"),  # next day: a new visitor id
        ],
        now=T + 86400 + 5,
    )
    start, end = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)
    top = rollup_top(site_id=1, dim="page", start=start, end=end)
    assert [(r["value"], r["pageviews"], r["visitors"]) for r in top] == [
        ("/a", 3, 2),
        ("/b", 1, 1),
    ]
    graph = list(sessions_graph(site_id=1, start=start, end=end))
    assert [g.pageviews for g in graph] == [2, 1, 1]
    assert visitors_now(site_id=1, now=T + 86400 + 5) == 1
    assert visitors_now(site_id=1, now=T + 86400 + 400) == 0
    assert list(issue_list(site_id=1)) == []


@pytest.mark.django_db(databases=["default", "ttl"])
def test_admin_shows_the_snippet(admin_client):
    site = Site.objects.create(name="Shop", domains=["shop.example"])
    resp = admin_client.get(f"/admin/analytics/site/{site.pk}/change/")
    assert resp.status_code == 200
    assert f'data-site="{site.public_key}"' in resp.content.decode().replace("&quot;", '"')


def test_visitors_now_searches_the_event_index_not_a_table_scan():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        visitors_now(site_id=1, now=T)
    (query,) = [q["sql"] for q in ctx.captured_queries if "COUNT(DISTINCT" in q["sql"]]
    with connection.cursor() as cur:
        plan = " ".join(str(r[-1]) for r in cur.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "USING INDEX analytics_event_site_ts" in plan, plan
