"""Staff pages through the full Django stack: access, errors list (FTS) and issue actions,
CSV and zip export, status page, reports, seeding command."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client

from web.analytics.history import services as hs
from web.analytics.models import Issue, IssueEvent, Rollup, SessionsHourly
from web.dashboard.panels import PANELS
from web.dashboard.reports import report_build, reports_send
from web.dashboard.tests.conftest import RANGE

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


@pytest.fixture
def sealed(seeded: dict[str, int]) -> dict[str, int]:
    """The seeded site with its events sealed into the history (props, goals, funnels and
    filtered panels read only sealed events)."""
    hs.history_seal_all()
    return seeded


@pytest.fixture
def staff(client: Client) -> Client:
    user = get_user_model().objects.create(username="owner", email="o@example.com", is_staff=True)
    client.force_login(user)
    return client


def test_dashboard_is_staff_only(client: Client, seeded: dict[str, int]) -> None:
    assert client.get("/dashboard/1/").status_code == 302
    reader = get_user_model().objects.create(username="reader")
    client.force_login(reader)
    resp = client.get("/dashboard/1/panel/top/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    assert client.get("/dashboard/status/").status_code == 302


def test_bad_range_is_400_and_unknown_panel_is_400(staff: Client, seeded: dict[str, int]) -> None:
    resp = staff.get("/dashboard/1/panel/top/", {"range": "forever"})
    assert resp.status_code == 400 and b"unknown range" in resp.content
    assert staff.get("/dashboard/1/panel/shoes/").status_code == 400


def test_csv_of_a_panel_and_zip_of_all(staff: Client, seeded: dict[str, int]) -> None:
    resp = staff.get("/dashboard/1/panel/sources/", {**RANGE, "format": "csv"})
    assert resp["Content-Type"].startswith("text/csv")
    lines = resp.content.decode().splitlines()
    assert lines[0].startswith("value,visitors,visits")
    assert any(line.startswith("Google,") for line in lines)
    resp = staff.get("/dashboard/1/export.zip", RANGE)
    z = zipfile.ZipFile(io.BytesIO(resp.content))
    assert sorted(z.namelist()) == sorted(f"{p}.csv" for p in PANELS)
    top = z.read("top.csv").decode()
    assert "visits," in top and "pageviews," in top
    assert len(z.read("chart.csv").decode().splitlines()) == 5  # header + 4 days


def test_event_props_panel(staff: Client, sealed: dict[str, int]) -> None:
    resp = staff.get("/dashboard/1/panel/props/", {**RANGE, "name": "signup", "format": "csv"})
    rows = resp.content.decode().splitlines()
    assert rows[0] == "prop,value,events"
    assert {r.split(",")[1] for r in rows[1:]} <= {"free", "pro", "team"} and len(rows) > 1


def _issue(message: str, **kw: Any) -> Issue:
    now = datetime.now(UTC)
    return Issue.objects.create(
        site_id=1, fingerprint=message[:60], kind="js", type=kw.pop("type", "TypeError"),
        message=message, culprit=kw.pop("culprit", "app.js:10"), first_seen=now,
        last_seen=now, count=3, sessions=2, **kw,
    )  # fmt: skip


def test_errors_list_search_and_issue_actions(staff: Client) -> None:
    a = _issue("Cannot read properties of undefined (reading 'map')")
    _issue("NetworkError when attempting to fetch resource", type="TypeError")
    _issue("Refused to load the script", type="csp", status="ignored")
    for i in range(3):
        IssueEvent.objects.create(
            issue=a, event_id=f"e{i}", ts=datetime.now(UTC) - timedelta(days=i),
            url="https://example.com/x", message=a.message, stack="at render (app.js:10)",
        )  # fmt: skip
    page = staff.get("/dashboard/1/errors/").content.decode()
    assert "reading &#x27;map&#x27;" in page and "NetworkError" in page
    assert "Refused to load" not in page  # ignored issues are not in the open list
    found = staff.get("/dashboard/1/errors/", {"q": "propert"}).content.decode()
    assert "reading &#x27;map&#x27;" in found and "NetworkError" not in found
    assert (
        "Refused"
        in staff.get("/dashboard/1/errors/", {"q": "script", "status": ""}).content.decode()
    )
    detail = staff.get(f"/dashboard/1/errors/{a.pk}/").content.decode()
    assert detail.count("at render (app.js:10)") == 3  # sample events
    assert '"events": [' in detail  # the events-over-time series for the chart
    resp = staff.post(f"/dashboard/1/errors/{a.pk}/status/", {"status": "resolved"})
    assert resp.status_code == 302
    a.refresh_from_db()
    assert a.status == "resolved" and a.resolved_at is not None
    assert staff.post(f"/dashboard/1/errors/{a.pk}/status/", {"status": "gone"}).status_code == 400
    staff.post(f"/dashboard/1/errors/{a.pk}/status/", {"status": "ignored"})
    a.refresh_from_db()
    assert a.status == "ignored"
    assert staff.get(f"/dashboard/2/errors/{a.pk}/").status_code == 404


def test_status_page_reports_what_it_cannot_read(staff: Client) -> None:
    page = staff.get("/dashboard/status/").content.decode()
    assert "Queues and backups" in page
    assert "Dead letters" in page and "Litestream replication" in page
    # Queue families from web.messaging's queue_summary (no NATS here, so lag is unknown).
    assert 'id="queues"' in page and "<td>analytics</td>" in page
    # Last success per backup tier, and the failed last run is visible.
    from web.jobs.models import JobRun

    now = datetime.now(UTC)
    JobRun.objects.create(job="backup daily", started_at=now - timedelta(days=1),
                          finished_at=now - timedelta(days=1), outcome="ok")  # fmt: skip
    JobRun.objects.create(job="backup daily", started_at=now, finished_at=now, outcome="failed")
    JobRun.objects.create(job="ttl cleanup", started_at=now, finished_at=now, outcome="ok")
    page = staff.get("/dashboard/status/").content.decode()
    assert 'id="backups"' in page and "<td>backup daily</td>" in page
    assert "ttl cleanup" not in page
    assert '<td class="bad">' in page and "· failed" in page
    # No Litestream in tests: the page says so rather than failing.
    assert "HEARTH_LITESTREAM_URL unset" in page or "not available" in page


def test_weekly_report_has_top_stats_pages_sources_countries(
    staff: Client, seeded: dict[str, int]
) -> None:
    from web.dashboard.tests.conftest import LAST

    subject, body = report_build(site_id=1, period="weekly", today=LAST + timedelta(days=1))
    assert "weekly report" in subject
    for part in ("Visitors (sum of daily uniques)", "Top pages", "Top sources", "Top countries"):
        assert part in body
    assert "Google" in body and "  /" in body
    assert reports_send(period="weekly") == {"sites": 1, "sent": 1}
    assert mail.outbox[-1].to == ["o@example.com"]


def test_seed_command_writes_rollups_and_compacts(capsys: Any) -> None:
    call_command("dashboard_seed", events=2000, days=3)
    out = capsys.readouterr().out
    assert "visits=" in out and "rollup_rows=" in out
    assert Rollup.objects.filter(site_id=1, dim="page").exists()
    total = sum(SessionsHourly.objects.filter(site_id=1).values_list("pageviews", flat=True))
    pages = sum(Rollup.objects.filter(site_id=1, dim="page").values_list("pageviews", flat=True))
    assert total == pages > 0


def test_dashboard_page_keeps_the_view_in_links(staff: Client, seeded: dict[str, int]) -> None:
    page = staff.get("/dashboard/1/", {**RANGE, "country": "DE", "compare": "previous"})
    html = page.content.decode()
    # Panels load with the same view; removing a filter keeps the range and the comparison.
    assert f"/dashboard/1/panel/pages/?range=custom&amp;from={RANGE['from']}" in html
    assert "country=DE" in html and 'aria-label="Remove filter Country"' in html
    assert f'value="{RANGE["from"]}"' in html and f'value="{RANGE["to"]}"' in html
    top = staff.get("/dashboard/1/panel/top/", {**RANGE, "compare": "previous"}).content.decode()
    assert 'class="delta' not in top  # nothing before the range: no change to show
    rows = staff.get("/dashboard/1/panel/countries/", RANGE).content.decode()
    assert "?range=custom" in rows and "country=US" in rows  # each row is a filter link


def test_comparison_shows_deltas(staff: Client, seeded: dict[str, int]) -> None:
    from web.dashboard.tests.conftest import LAST

    two_days = {"range": "custom", "from": str(LAST - timedelta(days=1)), "to": str(LAST)}
    top = staff.get("/dashboard/1/panel/top/", {**two_days, "compare": "previous"})
    html = top.content.decode()
    assert html.count('class="delta') == 6  # every top stat has its change
    chart = staff.get("/dashboard/1/panel/chart/", {**two_days, "compare": "previous"})
    assert '"previous": [' in chart.content.decode()


def test_funnel_admin_validates_steps(sealed: dict[str, int]) -> None:
    from web.dashboard.models import Funnel

    admin = Client()
    admin.force_login(
        get_user_model().objects.create(username="a", is_staff=True, is_superuser=True)
    )
    bad = admin.post("/admin/dashboard/funnel/add/", {"site": "1", "name": "x", "steps": '["/"]'})
    assert bad.status_code == 200 and not Funnel.objects.exists()
    ok = admin.post(
        "/admin/dashboard/funnel/add/",
        {"site": "1", "name": "Buy", "steps": '["/", " /pricing/ ", "event:signup"]'},
    )
    assert ok.status_code == 302
    # Saved in the one rule's form (goals.normalise_pattern): no trailing slash.
    assert Funnel.objects.get(name="Buy").steps == ["/", "/pricing", "event:signup"]
    rows = admin.get("/dashboard/1/panel/funnels/", {**RANGE, "format": "csv"}).content.decode()
    lines = rows.splitlines()
    assert lines[0] == "funnel,step,visits,conversion_rate,dropoff,dropoff_rate"
    assert len(lines) == 4 and lines[1].startswith("Buy,/,")
    # Against the raw events, walked visit by visit in time order.
    from collections import defaultdict

    from web.analytics.models import Event

    steps = ["/", "/pricing", "event:signup"]  # paths are stored normalised: no trailing /
    visits: dict[int, list[Event]] = defaultdict(list)
    for e in Event.objects.filter(site_id=1).order_by("ts", "id"):
        visits[e.session_id].append(e)
    reached = [0, 0, 0]
    for events in visits.values():
        i = 0
        for e in events:
            want = steps[i] if i < 3 else None
            hit = (e.kind == "custom" and want == f"event:{e.name}") or (
                e.kind == "pageview" and want == e.path
            )
            if hit:
                reached[i] += 1
                i += 1
    assert reached[0] > reached[1] > 0
    assert [int(line.split(",")[2]) for line in lines[1:]] == reached


def test_csv_export_defuses_formulas() -> None:
    from web.dashboard.panels import to_csv

    out = to_csv(
        [{"value": '=HYPERLINK("http://evil")', "visitors": 3}, {"value": "/ok", "visitors": -1}]
    )
    assert out.splitlines()[1].startswith("\"'=HYPERLINK(")
    assert out.splitlines()[2] == "/ok,-1"  # numbers are left alone
