"""Issue 17 through the Django stack: errors shown inside the dashboard's own page, styled
404s, the comparison modes, the chart's partial and future buckets, numbers as people write
them, the status page's worker liveness and the error issue page's wording."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from web.analytics.models import Issue
from web.dashboard.reports import report_build
from web.dashboard.services import public_link_create
from web.dashboard.templatetags import fmt
from web.dashboard.tests.conftest import LAST, RANGE

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(get_user_model().objects.create(username="owner", is_staff=True))
    return client


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"range": "custom", "from": "2026-03-10", "to": "2026-03-02"}, "to= is before from="),
        ({"range": "forever"}, "unknown range"),
        ({"range": "7d", "contry": "US"}, "unknown filter 'contry': filters are page"),
        ({"range": "7d", "compare": "lastyear"}, "use compare=previous"),
    ],
)
def test_a_bad_view_is_explained_in_the_dashboard_page(
    staff: Client, seeded: dict[str, int], params: dict[str, str], says: str
) -> None:
    resp = staff.get("/dashboard/1/", params)
    html = resp.content.decode()
    assert resp.status_code == 400 and resp["Content-Type"].startswith("text/html")
    assert says in html
    assert 'href="/dashboard/1/realtime/"' in html  # the dashboard's own navigation
    assert 'href="/dashboard/1/?range=7d"' in html  # and a way back to a view that works
    assert 'id="panel-top"' not in html  # no panels that would fail the same way


def test_share_page_errors_and_missing_links_are_pages_too(
    client: Client, seeded: dict[str, int]
) -> None:
    link = public_link_create(site_id=1)
    resp = client.get(f"/share/{link.key}/", {"range": "custom", "from": "x", "to": "y"})
    assert resp.status_code == 400 and "as YYYY-MM-DD" in resp.content.decode()
    assert f'href="/share/{link.key}/?range=30d"' in resp.content.decode()
    assert "/admin/" not in resp.content.decode()  # no staff navigation on a public page
    gone = client.get("/share/nope/")
    assert gone.status_code == 404 and "ask the site's owner" in gone.content.decode()


def test_unknown_site_and_issue_are_styled_404s(staff: Client, seeded: dict[str, int]) -> None:
    for path in ("/dashboard/999/", "/dashboard/999/realtime/", "/dashboard/999/errors/"):
        resp = staff.get(path)
        html = resp.content.decode()
        assert resp.status_code == 404, path
        assert "There is no site 999." in html and 'href="/dashboard/1/"' in html
        assert "dashboard.css" in html
    resp = staff.get("/dashboard/1/errors/12345/")
    assert resp.status_code == 404 and "no error issue 12345" in resp.content.decode()


def test_year_over_year_and_an_empty_previous_period(staff: Client, seeded: dict[str, int]) -> None:
    page = staff.get("/dashboard/1/", {**RANGE, "compare": "year"}).content.decode()
    assert re.search(r'<a href="[^"]*compare=year" class="active"[^>]*>Year before</a>', page)
    first = datetime.fromisoformat(RANGE["from"])
    assert f"compared with {first.day} {first:%b} {first.year - 1}" in page
    # Nothing was seeded a year before, nor before the range: each says so.
    for mode, label in (("year", "year before"), ("previous", "previous period")):
        top = staff.get("/dashboard/1/panel/top/", {**RANGE, "compare": mode}).content.decode()
        assert f"No data in the {label} (" in top, mode
        assert 'class="delta' not in top
    chart = staff.get("/dashboard/1/panel/chart/", {**RANGE, "compare": "year"}).content.decode()
    data = json.loads(re.search(r'id="chart-data"[^>]*>(.*?)</script>', chart, re.S)[1])
    assert data["previous"] == [0, 0, 0, 0] and data["previous_label"] == "year before"


def test_the_chart_does_not_draw_the_future_and_marks_the_current_bucket(
    staff: Client, seeded: dict[str, int]
) -> None:
    now = datetime.now(UTC)
    html = staff.get("/dashboard/1/panel/chart/", {"range": "today"}).content.decode()
    data = json.loads(re.search(r'id="chart-data"[^>]*>(.*?)</script>', html, re.S)[1])
    assert len(data["t"]) == 24 and data["current"] == now.hour
    assert data["visitors"][now.hour + 1 :] == [None] * (23 - now.hour)
    assert all(v is not None for v in data["visitors"][: now.hour + 1])
    assert set(data["totals"]) == {"visitors", "visits", "pageviews", "views_per_visit",
                                   "bounce_rate", "visit_duration_s"}  # fmt: skip
    past = staff.get("/dashboard/1/panel/chart/", RANGE).content.decode()
    data = json.loads(re.search(r'id="chart-data"[^>]*>(.*?)</script>', past, re.S)[1])
    assert data["current"] is None and None not in data["visitors"]
    assert data["totals"]["visits"] == sum(data["visits"]) > 0
    # Every top stat can be charted: rates per bucket, as top_stats computes them.
    for key in ("views_per_visit", "bounce_rate", "visit_duration_s"):
        assert len(data[key]) == 4 and all(v > 0 for v in data[key]), key
    assert all(0 < v < 1 for v in data["bounce_rate"])


def test_numbers_countries_and_columns_read_as_people_write_them(
    staff: Client, seeded: dict[str, int]
) -> None:
    assert [fmt.num(184547), fmt.compact(184547), fmt.compact(18454), fmt.compact(2_300_000),
            fmt.compact(9999), fmt.ratio(2.2957), fmt.pct(0.4123), fmt.duration(97),
            fmt.country("US"), fmt.country("ZZ")] == [
        "184,547", "185k", "18.5k", "2.3M", "9,999", "2.30", "41%", "1m 37s",
        "United States", "ZZ"]  # fmt: skip
    countries = staff.get("/dashboard/1/panel/countries/", RANGE).content.decode()
    assert '<span class="code">US</span> United States</a>' in countries
    csv = staff.get("/dashboard/1/panel/countries/", {**RANGE, "format": "csv"}).content.decode()
    head = "value,visitors,visits,pageviews,bounce_rate,visit_duration_s,name"
    assert csv.splitlines()[0] == head
    assert ",United States" in csv
    events = staff.get("/dashboard/1/panel/events/", RANGE).content.decode()
    assert re.search(r'data-filter="event">signup</a> <a class="props"', events)
    heads = re.findall(r'<th class="num">([^<]+)</th>', events)
    assert heads == ["Events", "Visitors"]
    sources = staff.get("/dashboard/1/panel/sources/", RANGE).content.decode()
    assert re.findall(r'<th class="num">([^<]+)</th>', sources) == ["Visitors", "Bounce rate"]
    top = staff.get("/dashboard/1/panel/top/", RANGE).content.decode()
    pageviews = re.search(r'data-metric="pageviews">.*?class="value">([^<]+)<', top, re.S)[1]
    assert re.fullmatch(r"\d{1,3}(,\d{3})+", pageviews)
    _, body = report_build(site_id=1, period="weekly", today=LAST + timedelta(days=1))
    ratio = re.search(r"Views per visit: ([0-9.]+)", body)[1]
    assert re.fullmatch(r"\d+\.\d\d", ratio), body
    assert "United States" in body


def test_an_idle_worker_with_a_fresh_heartbeat_is_healthy(
    staff: Client, settings: Any, seeded: dict[str, int]
) -> None:
    """Item 10: the worker is judged by its heartbeat; a worker that has processed nothing
    for a long time but beats is fine, a stale heartbeat is an alarm saying what to do."""
    from web.core import health

    health.worker_heartbeat_write(settings.ENV.data_dir)
    page = staff.get("/dashboard/status/").content.decode()
    assert '<p id="worker" class="good">Worker running: heartbeat' in page
    assert 'href="/dashboard/1/realtime/"' in page  # the full navigation
    beat = health.heartbeat_path(settings.ENV.data_dir)
    beat.write_text(json.dumps({"at": 0, "pid": 1, "stopped": False}))
    page = staff.get("/dashboard/status/").content.decode()
    assert '<p id="worker" class="bad">No worker heartbeat for' in page and "restart it" in page


def test_the_issue_page_counts_in_words_and_names_the_error_once(staff: Client) -> None:
    now = datetime.now(UTC)
    issue = Issue.objects.create(
        site_id=1, fingerprint="x", kind="js", type="ReferenceError",
        message="Uncaught ReferenceError: initWidget is not defined", culprit="app.js:1",
        first_seen=now, last_seen=now, count=1, sessions=1,
    )  # fmt: skip
    page = staff.get(f"/dashboard/1/errors/{issue.pk}/").content.decode()
    assert "1 event in 1 visit<" in page
    title = '<h1 class="issue-title">Uncaught ReferenceError: initWidget is not defined</h1>'
    assert title in page
    listing = staff.get("/dashboard/1/errors/").content.decode()
    assert ">Uncaught ReferenceError: initWidget is not defined</a>" in listing


def test_a_partial_period_is_compared_up_to_the_same_time(
    staff: Client, seeded: dict[str, int]
) -> None:
    """Today so far against yesterday until the same hour, not all of yesterday."""
    from web.dashboard import selectors as sel

    now = datetime(2026, 3, 10, 9, 40, tzinfo=UTC)
    q = sel.parse_query(1, {"range": "today"}, now=now)
    other = q.compared_so_far("previous", now)
    assert (other.start, other.end) == (datetime(2026, 3, 9, tzinfo=UTC),
                                        datetime(2026, 3, 9, 10, tzinfo=UTC))  # fmt: skip
    year = q.compared_so_far("year", now)
    assert (year.start, year.end) == (datetime(2025, 3, 10, tzinfo=UTC),
                                      datetime(2025, 3, 10, 10, tzinfo=UTC))  # fmt: skip
    whole = sel.parse_query(1, RANGE, now=now)
    assert whole.compared_so_far("previous", now) == whole.previous()
    page = staff.get("/dashboard/1/", {"range": "today", "compare": "previous"}).content.decode()
    assert "(previous period, to the same time of day)" in page
