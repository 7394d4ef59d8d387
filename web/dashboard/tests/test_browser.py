"""Headless Chromium against the real ASGI app (uvicorn subprocess, real nats-server):
the dashboard loads with data, a filter click changes every panel and the URL, and the
realtime counter moves when a pageview is published the way the analytics worker does,
and when one is really ingested and processed by a worker."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from web.core.testing import run_django
from web.dashboard.tests import serve
from web.dashboard.tests.serve import App
from web.env import REPO_ROOT

pytestmark = pytest.mark.browser

SCREENSHOT = REPO_ROOT / "test-artifacts" / "dashboard.png"
DETAILS_SHOTS = {(1280, 800): REPO_ROOT / "test-artifacts" / "details-1280x800.png",
                 (390, 844): REPO_ROOT / "test-artifacts" / "details-390x844.png"}  # fmt: skip
PANELS = ["top", "chart", "pages", "entry", "exit", "sources", "referrers", "utm_source",
          "utm_medium", "utm_campaign", "countries", "devices", "browsers", "os", "events",
          "goals", "funnels"]  # fmt: skip
TABLE_PANELS = [p for p in PANELS if p not in ("top", "chart")]


@pytest.fixture(scope="module")
def app(nats_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    # Filtered panels, goals, props and funnels read only sealed events (the history).
    with serve.running(nats_server.url, tmp_path_factory.mktemp("dashboard-app"), sealed=True) as a:
        yield a


@pytest.fixture
def page(app: App, browser: Any) -> Iterator[Any]:
    url, session = app.url, app.session
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    ctx.add_cookies([{"name": "sessionid", "value": session, "url": url}])
    errors: list[str] = []
    pg = ctx.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    yield pg
    ctx.close()
    assert errors == [], errors


def _wait_panels(page: Any) -> None:
    page.wait_for_function(
        "names => names.every(n => { const el = document.getElementById('panel-' + n);"
        " return el && !el.querySelector('.loading'); })",
        arg=PANELS,
        timeout=20_000,
    )


def _panel_texts(page: Any) -> dict[str, str]:
    return {n: page.locator(f"#panel-{n}").inner_text() for n in PANELS if n != "chart"}


def test_dashboard_loads_with_data(app: App, page: Any) -> None:
    url = app.url
    page.goto(f"{url}/dashboard/1/?range=7d")
    _wait_panels(page)
    visitors = page.locator("#panel-top [data-metric=visits] .value").inner_text()
    assert int(visitors.replace(",", "")) > 500  # shown with thousands separators (issue 17)
    for name in TABLE_PANELS:
        if name == "funnels":
            assert page.locator("#panel-funnels table.funnel tbody tr").count() == 3
            continue
        assert page.locator(f"#panel-{name} tbody tr").count() > 0, name
    # uPlot drew the chart; the map is shaded (some country is not the empty colour).
    page.wait_for_selector("#panel-chart .uplot canvas")
    fills = page.locator("#panel-countries svg.worldmap path").evaluate_all(
        "ps => ps.map(p => p.getAttribute('fill'))"
    )
    assert len(fills) > 200 and len({f for f in fills if f != "#e8ebf0"}) > 5
    # Custom event props open in place (htmx), read from raw events.
    page.locator("#panel-events a.props").first.click()
    page.wait_for_selector("#panel-events .propbox table.props")
    assert page.locator("#panel-events .propbox tbody tr").count() >= 2
    # CSV of a panel.
    csv = page.request.get(f"{url}/dashboard/1/panel/countries/?range=7d&format=csv").text()
    assert csv.splitlines()[0].startswith("value,visitors")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    print(f"screenshot: {SCREENSHOT}")
    assert SCREENSHOT.stat().st_size > 10_000


def test_filter_click_changes_every_panel_and_the_url(app: App, page: Any) -> None:
    url = app.url
    page.goto(f"{url}/dashboard/1/?range=7d")
    _wait_panels(page)
    before = _panel_texts(page)
    chart_before = page.locator("#chart-data").inner_text()
    page.locator("#panel-countries a[data-filter=country]", has_text="US").first.click()
    page.wait_for_url("**country=US**")
    page.wait_for_selector("#filters")
    _wait_panels(page)
    after = _panel_texts(page)
    unchanged = [n for n in before if before[n] == after[n]]
    assert unchanged == []
    assert page.locator("#chart-data").inner_text() != chart_before
    assert page.locator("#panel-countries tbody tr").count() == 1
    assert "country=US" in page.url and "range=7d" in page.url
    # The URL is the view: loading it fresh gives the same panels.
    page.goto(page.url)
    _wait_panels(page)
    assert _panel_texts(page)["top"] == after["top"]


async def _publish(nats_url: str, subject: str, data: dict[str, Any]) -> None:
    import nats

    nc = await nats.connect(nats_url)
    await nc.publish(subject, json.dumps(data).encode())
    await nc.flush()
    await nc.close()


def test_realtime_counter_moves_without_reload(app: App, page: Any, nats_server: Any) -> None:
    url = app.url
    page.goto(f"{url}/dashboard/1/realtime/")
    page.wait_for_function("() => document.getElementById('rt-state').textContent === 'live'")
    page.wait_for_function("() => document.getElementById('alerts').dataset.state === 'live'")
    page.evaluate("() => { window.__notReloaded = true; }")
    assert page.locator("#rt-pageviews").inner_text() == "0"
    # As web.analytics.services._publish_batch publishes after a batch is stored.
    data = {"site": 1, "ts": 0, "pageviews": 1, "events": 0, "errors": 0, "visitors_now": 42,
            "pages": ["/blog/live-test/"], "countries": {"DE": 1}}  # fmt: skip
    for _ in range(20):  # the server's subscription may still be starting: publish until seen
        _publish_sync(nats_server.url, "events.metrics.views.1", data)
        try:
            page.wait_for_function(
                "() => document.getElementById('rt-pageviews').textContent !== '0'", timeout=1000
            )
            break
        except Exception:
            continue
    assert int(page.locator("#rt-pageviews").inner_text()) >= 1
    assert page.locator("#rt-visitors").inner_text() == "42"
    assert "/blog/live-test/" in page.locator("#rt-feed").inner_text()
    assert page.locator("#rt-dots circle").count() >= 1
    assert page.evaluate("() => window.__notReloaded") is True
    # Alerts are shown live on every staff page (the bar subscribes to events.alerts.*).
    alert = {"kind": "traffic", "key": "site:1", "title": "Traffic spike on Hearth (test)"}
    _publish_sync(nats_server.url, "events.alerts.traffic", alert)
    page.wait_for_function(
        "() => document.getElementById('alerts').textContent.includes('Traffic spike on Hearth')",
        timeout=10_000,
    )
    # A burst of the same kind is one line with a counter.
    for i in range(3):
        _publish_sync(nats_server.url, "events.alerts.traffic", {**alert, "title": f"burst {i}"})
    page.wait_for_function(
        "() => document.getElementById('alerts').textContent.includes('(+3 more)')",
        timeout=10_000,
    )
    assert page.locator("#alerts li").count() == 1
    assert page.evaluate("() => window.__notReloaded") is True


def _publish_sync(nats_url: str, subject: str, data: dict[str, Any]) -> None:
    # Playwright's sync API owns this thread's event loop: publish from another thread.
    t = threading.Thread(target=asyncio.run, args=(_publish(nats_url, subject, data),))
    t.start()
    t.join(10)


def test_public_link_is_read_only_and_revocable(app: App, browser: Any) -> None:
    url = app.url
    ctx = browser.new_context()  # anonymous
    pg = ctx.new_page()
    try:
        assert pg.goto(f"{url}/dashboard/1/").url.startswith(f"{url}/admin/login/")
        key = serve.share_key(app.env)
        pg.goto(f"{url}/share/{key}/?range=7d")
        pg.wait_for_selector("#panel-top [data-metric=visits] .value")
        visits = pg.locator("#panel-top [data-metric=visits] .value").inner_text()
        assert int(visits.replace(",", "")) > 500
        assert pg.locator("a[href$='export.zip']").count() == 0
        # The public realtime view streams through the lean public SSE endpoint.
        pg.goto(f"{url}/share/{key}/realtime/")
        pg.wait_for_function("() => document.getElementById('rt-state').textContent === 'live'")
        _revoke(app.env)
        assert pg.goto(f"{url}/share/{key}/").status == 404
    finally:
        ctx.close()


def _revoke(env: dict[str, str]) -> None:
    run_django(
        env,
        "from web.dashboard.models import PublicLink;"
        "from web.dashboard.services import public_link_revoke as r;"
        "[r(link_id=link.pk) for link in PublicLink.objects.all()]",
    )


def test_realtime_counter_moves_when_a_pageview_is_ingested(app: App, page: Any) -> None:
    """The whole path: beacon → ingest → JetStream → real worker → NATS → SSE → the page."""
    import sqlite3
    import subprocess
    import sys
    import uuid

    import httpx

    from web.core.testing.events import UA_FIREFOX  # a browser: ingest drops bots

    data_dir = app.env["HEARTH_DATA_DIR"]
    con = sqlite3.connect(f"{data_dir}/data.db")
    key = con.execute("SELECT public_key FROM analytics_site WHERE id = 1").fetchone()[0]
    con.close()
    worker = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        env={**app.env, "HEARTH_WORKER_FAMILIES": "analytics"},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page.goto(f"{app.url}/dashboard/1/realtime/")
        page.wait_for_function("() => document.getElementById('rt-state').textContent === 'live'")
        page.evaluate("() => { window.__notReloaded = true; }")
        before = int(page.locator("#rt-pageviews").inner_text())
        # No trailing slash: the worker normalises paths (it drops one), and the feed's items
        # run together in textContent, so "/x/" matched only when the next item happened to
        # start with "/" (it failed after other tests had left a backlog of pages).
        path = f"/blog/ingested-{uuid.uuid4().hex[:8]}"
        beacon = {"k": key, "n": "pageview", "u": f"http://127.0.0.1{path}"}
        r = httpx.post(
            f"{app.url}/ingest/e",
            content=json.dumps(beacon),
            headers={"user-agent": UA_FIREFOX},
            timeout=10,
        )
        assert r.status_code == 202, r.text
        page.wait_for_function(
            f"() => document.getElementById('rt-feed').textContent.includes('{path}')",
            timeout=30_000,
        )
        assert int(page.locator("#rt-pageviews").inner_text()) >= before + 1
        assert page.evaluate("() => window.__notReloaded") is True
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def _expected_pages(env: dict[str, str], params: dict[str, str], search: str = "") -> list[str]:
    """The page values the selectors give for a view, computed in a separate process."""
    code = (
        "import json; from web.dashboard import selectors as s;"
        f"q = s.parse_query(1, {params!r});"
        f"print(json.dumps([r['value'] for r in s.breakdown(q, 'page', limit=1000, "
        f"search={search!r})]))"
    )
    return json.loads(run_django(env, code))


def _shown(page: Any) -> list[str]:
    return page.locator("#details-results tbody td.label a").all_inner_texts()


def test_details_view_searches_pages_and_filters(app: App, page: Any) -> None:
    """A filtered 30-day dashboard: the pages panel's More opens the details view; it
    pages by 100, searches as one types (any case), and a value becomes a filter."""
    view = {"range": "30d", "device": "desktop"}
    expected = _expected_pages(app.env, view)
    assert len(expected) > 100
    page.goto(f"{app.url}/dashboard/1/?range=30d&device=desktop")
    _wait_panels(page)
    page.locator("#panel-pages a.more").click()
    page.wait_for_url("**/dashboard/1/details/pages/?range=30d&device=desktop")
    page.wait_for_selector("#details-results tbody tr")
    assert page.locator("#details-results thead th").all_inner_texts() == [
        "Top pages", "Pageviews", "Visitors", "Scroll depth"]  # fmt: skip
    assert _shown(page) == expected[:100]
    assert "Device: desktop" in page.locator("#filters").inner_text()
    page.screenshot(path=str(REPO_ROOT / "test-artifacts" / "details-full.png"), full_page=True)
    assert page.locator(".pager .count").inner_text() == "Rows 1\u2013100"
    page.locator("#details-results a[rel=next]").click()
    page.wait_for_url("**offset=100**")
    page.wait_for_selector("#details-results tbody tr")
    assert _shown(page) == expected[100:200]
    assert page.locator(".pager .count").inner_text() == f"Rows 101\u2013{min(200, len(expected))}"
    page.locator("#details-results a[rel=prev]").click()
    page.wait_for_url("**/details/pages/?range=30d&device=desktop")
    # The URL commits before the page's scripts run: type only once htmx listens (typing
    # earlier fires input events nobody hears; a CI run timed out waiting for the search).
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    assert _shown(page) == expected[:100]
    # Search while typing: htmx swaps the results and pushes the URL (search, no offset).
    page.locator("input[type=search]").fill("POST-2")
    page.wait_for_url("**search=POST-2**")
    page.wait_for_function(
        "() => document.getElementById('details-results').dataset.search === 'POST-2'"
    )
    found = _expected_pages(app.env, view, "POST-2")
    assert 10 < len(found) <= 100 and all("post-2" in v for v in found)
    assert _shown(page) == found
    assert "offset" not in page.url
    # The URL is the view: reloading it shows the same rows.
    page.goto(page.url)
    assert _shown(page) == found
    assert page.locator("input[type=search]").input_value() == "POST-2"
    for (w, h), path in DETAILS_SHOTS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.screenshot(path=str(path))
        assert path.stat().st_size > 5_000
    page.set_viewport_size({"width": 1300, "height": 1000})
    # A value applies it as a filter on the dashboard, keeping the range and the others.
    value = found[0]
    page.locator("#details-results td.label a", has_text=value).first.click()
    page.wait_for_url("**/dashboard/1/?**page=**")
    _wait_panels(page)
    chips = page.locator("#filters").inner_text()
    assert "Device: desktop" in chips and f"Page: {value}" in chips
    assert "range=30d" in page.url
    assert page.locator("#panel-pages tbody tr td.label a").first.inner_text() == value
