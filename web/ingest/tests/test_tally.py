"""Beacon counts the owner can see (issue 16 item 1, issue 17 item 8): counted per process,
flushed to ttl.db, read by the site admin page, with a test pageview button."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from web.core.testing import wait_until
from web.ingest import tally as tally_mod
from web.ingest.handler import IngestApp
from web.ingest.publisher import Coalescer
from web.ingest.selectors import refused_recently, site_beacons
from web.ingest.sites import SiteCache, SiteInfo, load_sites
from web.ingest.tally import Tally
from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA, Recorder, call

T0 = 1_796_000_000.0  # a fixed clock, 2026-11-30 (hour buckets are exact)
SITES = [SiteInfo(1, "hearthkey", ("127.0.0.1",)), SiteInfo(7, "shopkey", ("shop.example",))]


def app_with(tally: Tally, rec: Recorder | None = None) -> IngestApp:
    cache = SiteCache(loader=lambda: list(SITES))
    cache.load_now()
    return IngestApp(sites=cache, coalescer=Coalescer(rec or Recorder()), limiter=None, tally=tally)


def native(key: str, url: str) -> bytes:
    return json.dumps({"k": key, "n": "pageview", "u": url}).encode()


def test_accepted_dropped_and_refused_beacons_are_counted_per_site() -> None:
    t = Tally(clock=lambda: T0)
    app = app_with(t)
    hour = tally_mod.hour_of(T0)
    assert (
        call(app, "POST", "/ingest/e", body=native("shopkey", "https://shop.example/")).status
        == 202
    )
    call(app, "POST", "/ingest/e", body=native("shopkey", "https://shop.example/a"))
    call(app, "POST", "/ingest/e", body=native("shopkey", "https://evil.example/"))  # hostname
    call(
        app,
        "POST",
        "/ingest/e",
        body=native("shopkey", "https://shop.example/"),
        headers={"user-agent": "curl/8.0"},
    )  # bot
    assert call(app, "POST", "/ingest/e", body=native("typo-key", "https://x/")).status == 400
    plausible = json.dumps({"n": "pageview", "u": "https://new.example/", "d": "new.example"})
    assert call(app, "POST", "/api/event", body=plausible.encode()).status == 400
    call(app, "POST", "/api/event", body=plausible.encode())
    assert dict(t.counts) == {
        (hour, 7, "accepted", ""): 2,
        (hour, 7, "dropped", "hostname"): 1,
        (hour, 7, "dropped", "bot"): 1,
        (hour, 0, "refused", "key:typo-key"): 1,
        (hour, 0, "refused", "domain:new.example"): 2,
    }


def test_refused_values_are_capped_between_flushes() -> None:
    t = Tally(clock=lambda: T0)
    for i in range(tally_mod.MAX_REFUSED + 50):
        t.refused("key", f"junk{i}" + "x" * 500)
    assert len(t.counts) == tally_mod.MAX_REFUSED + 1
    hour = tally_mod.hour_of(T0)
    assert t.counts[(hour, 0, "refused", "key:(other)")] == 50
    assert all(len(detail) <= 4 + tally_mod.MAX_VALUE for _, _, _, detail in t.counts)


@pytest.mark.django_db(databases=["default", "ttl"])
def test_flushes_add_up_in_hourly_rows_and_the_selectors_read_them() -> None:
    now = [T0]
    t = Tally(clock=lambda: now[0])
    for _ in range(3):
        t.accepted(7)
    t.dropped(7, "bot", 2)
    t.refused("host", "typo.example")
    assert t.flush_now(background=False) == 3
    assert t.counts == {}
    t.accepted(7)
    t.dropped(7, "hostname")
    t.refused("host", "typo.example")
    t.refused("key", "0123abcd")
    assert t.flush_now(background=False) == 4
    now[0] = T0 + 3600  # the next hour: a new row, still in "the last hour" window
    t.accepted(7, 5)
    t.accepted(1)
    t.flush_now(background=False)

    summary = site_beacons(7, now=now[0])
    assert summary.accepted == 9
    assert summary.dropped == {"bot": 2, "hostname": 1}
    assert summary.since == tally_mod.hour_of(T0)
    assert site_beacons(7, now=T0 + 3 * 3600).accepted == 0  # older hours are not "recent"
    refused = refused_recently(now=now[0])
    assert [(r.kind, r.value, r.count) for r in refused] == [
        ("domain", "typo.example", 2),
        ("key", "0123abcd", 1),
    ]


@pytest.mark.django_db(databases=["default", "ttl"])
def test_the_ttl_cleanup_deletes_rows_older_than_two_days() -> None:
    from web.core.ttl import CLEANERS
    from web.ingest.models import BeaconCount

    assert CLEANERS["ingest.beacon_counts"] is tally_mod.clean_counts
    t = Tally(clock=lambda: T0)
    t.accepted(7)
    t.flush_now(background=False)
    later = datetime.fromtimestamp(T0 + 47 * 3600, UTC)
    assert tally_mod.clean_counts(later) == 0
    assert tally_mod.clean_counts(datetime.fromtimestamp(T0 + 50 * 3600, UTC)) == 1
    assert BeaconCount.objects.count() == 0


@pytest.fixture
def admin_ingest(monkeypatch: pytest.MonkeyPatch) -> tuple[IngestApp, Recorder]:
    """The process's ingest app (web.ingest.asgi.INGEST) on the test database's sites, its
    publish recorded: the admin's button sends through it as under the ASGI server."""
    from web.ingest import asgi

    rec = Recorder()
    app = IngestApp(
        sites=SiteCache(loader=load_sites), coalescer=Coalescer(rec), limiter=None, tally=Tally()
    )
    monkeypatch.setattr(asgi, "INGEST", app)
    return app, rec


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_site_page_shows_counts_and_the_test_pageview_arrives(admin_client, admin_ingest) -> None:  # type: ignore[no-untyped-def]
    from web.analytics.models import Site

    app, rec = admin_ingest
    site = Site.objects.create(name="Shop", domains=["shop.example", "www.shop.example"])
    page_url = f"/admin/analytics/site/{site.pk}/change/"
    page = admin_client.get(page_url).content.decode()
    assert 'data-accepted="0"' in page and "Send a test pageview" in page
    button = f"/admin/analytics/site/{site.pk}/test-pageview/"
    assert f'formaction="{button}"' in page

    r = admin_client.post(button, follow=True)
    assert r.redirect_chain[-1][0].startswith(page_url)
    html = r.content.decode()
    assert "accepted (HTTP 202)" in html
    assert 'data-accepted="1"' in html
    (event,) = rec.events
    assert event["site"] == site.pk and event["kind"] == "pageview"
    assert event["url"] == "https://shop.example/hearth-test-pageview"
    assert "Chrome/" in event["ua"] and event["ip"] == "127.0.0.1"

    # A beacon refused for an unknown domain shows on the page with its value.
    body = json.dumps({"n": "pageview", "u": "https://typo.example/", "d": "typo.example"})
    assert call(app, "POST", "/api/event", body=body.encode()).status == 400
    app.tally.flush_now(background=False)
    html = admin_client.get(page_url).content.decode()
    assert "unknown domain <code>typo.example</code> &times;1" in html

    # A site without a domain is told what to do; nothing is sent.
    bare = Site.objects.create(name="Bare", domains=[])
    r = admin_client.post(f"/admin/analytics/site/{bare.pk}/test-pageview/", follow=True)
    assert "Add a domain to this site first" in r.content.decode()
    assert len(rec.events) == 1
    assert admin_client.get(f"/admin/analytics/site/{site.pk}/test-pageview/").status_code == 405


def test_real_web_process_writes_its_counts_to_ttl_db(ingest_web: WebProcess) -> None:
    """The flush task runs in the served app (lifespan startup): counts reach ttl.db."""
    web = ingest_web
    con = sqlite3.connect(web.data_dir / "data.db")
    try:
        key = con.execute("SELECT public_key FROM analytics_site WHERE id = 1").fetchone()[0]
    finally:
        con.close()
    junk = f"junk-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=web.url, headers={"user-agent": BROWSER_UA}, timeout=10) as c:
        assert c.post("/ingest/e", content=native(key, "http://127.0.0.1/tally")).status_code == 202
        assert c.post("/ingest/e", content=native(junk, "http://127.0.0.1/")).status_code == 400

    def refused_row() -> int:
        con = sqlite3.connect(web.data_dir / "ttl.db")
        try:
            row = con.execute(
                "SELECT count FROM ingest_beaconcount WHERE outcome = 'refused' AND detail = ?",
                [f"key:{junk}"],
            ).fetchone()
            accepted = con.execute(
                "SELECT sum(count) FROM ingest_beaconcount"
                " WHERE outcome = 'accepted' AND site_id = 1"
            ).fetchone()
            return (row[0] if row else 0) * 1000 + (accepted[0] or 0)
        finally:
            con.close()

    wait_until(
        lambda: refused_row() >= 1001, timeout=30, interval=0.5, message="the refused tally row"
    )
    assert refused_row() >= 1001
    assert refused_row() // 1000 == 1
