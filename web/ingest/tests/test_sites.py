"""The site snapshot: a miss falls through to a fresh load (issue 16, item 1), rate-limited;
aliases resolve by the contract in sites.py (item 4)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid

import httpx
import pytest

from web.ingest.filters import RateLimiter
from web.ingest.handler import IngestApp
from web.ingest.publisher import Coalescer
from web.ingest.sites import SiteCache, SiteInfo, load_sites
from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA, Recorder, acall, call

UA = {"user-agent": BROWSER_UA}


def beacon(key: str, url: str) -> bytes:
    return json.dumps({"k": key, "n": "pageview", "u": url}).encode()


class Table:
    """A site table the test edits, with a count of loads."""

    def __init__(self, *sites: SiteInfo) -> None:
        self.sites = list(sites)
        self.loads = 0

    def __call__(self) -> list[SiteInfo]:
        self.loads += 1
        time.sleep(0.01)  # a load takes a moment, so concurrent misses overlap it
        return list(self.sites)


def app_on(table: Table, *, ttl: float = 60.0, miss_interval: float = 1.0) -> IngestApp:
    cache = SiteCache(loader=table, ttl=ttl, miss_interval=miss_interval)
    cache.load_now()
    return IngestApp(sites=cache, coalescer=Coalescer(Recorder()), limiter=None)


def test_a_site_added_after_the_snapshot_is_accepted_on_its_first_beacon() -> None:
    table = Table(SiteInfo(1, "oldkey", ("old.example",)))
    app = app_on(table)  # a fresh snapshot (TTL 60 s) that predates the new site
    table.sites.append(SiteInfo(2, "newkey", ("new.example",)))
    r = call(app, "POST", "/ingest/e", body=beacon("newkey", "https://new.example/"))
    assert r.status == 202, r.body
    plausible = json.dumps({"n": "pageview", "u": "https://new.example/x", "d": "new.example"})
    table.sites.append(SiteInfo(3, "k3", ("third.example",)))
    time.sleep(1.05)  # past the miss interval: the next miss may load again
    third = plausible.replace("new.example", "third.example").encode()
    r = call(app, "POST", "/api/event", body=third)
    assert r.status == 202, r.body


def test_unknown_keys_share_one_load_and_load_at_most_once_a_second() -> None:
    table = Table(SiteInfo(1, "oldkey", ("old.example",)))
    app = app_on(table, miss_interval=1.0)
    assert table.loads == 1

    async def burst(n: int) -> list[int]:
        rs = await asyncio.gather(
            *(
                acall(app, "POST", "/ingest/e", body=beacon(f"junk{i}", "https://x.example/"))
                for i in range(n)
            )
        )
        return [r.status for r in rs]

    assert asyncio.run(burst(50)) == [400] * 50
    assert table.loads == 2  # fifty misses, one shared load
    assert asyncio.run(burst(20)) == [400] * 20
    assert table.loads == 2  # within the interval: refused from the snapshot
    time.sleep(1.05)
    assert asyncio.run(burst(5)) == [400] * 5
    assert table.loads == 3
    # A known key never loads.
    r = call(app, "POST", "/ingest/e", body=beacon("oldkey", "https://old.example/"))
    assert r.status == 202 and table.loads == 3


def test_a_miss_never_trusts_a_snapshot_older_than_the_ttl() -> None:
    table = Table(SiteInfo(1, "oldkey", ("old.example",)))
    app = app_on(table, ttl=0.2, miss_interval=3600.0)
    call(app, "POST", "/ingest/e", body=beacon("junk", "https://x.example/"))  # uses the miss
    table.sites.append(SiteInfo(2, "newkey", ("new.example",)))
    time.sleep(0.3)
    r = call(app, "POST", "/ingest/e", body=beacon("newkey", "https://new.example/"))
    assert r.status == 202, r.body


def test_a_load_that_fails_refuses_with_the_old_snapshot_not_500() -> None:
    table = Table(SiteInfo(1, "oldkey", ("old.example",)))
    app = app_on(table)

    def broken() -> list[SiteInfo]:
        raise OSError("database is locked")

    app.sites.loader = broken
    r = call(app, "POST", "/ingest/e", body=beacon("newkey", "https://new.example/"))
    assert r.status == 400 and "unknown site key 'newkey'" in r.json()["error"]
    r = call(app, "POST", "/ingest/e", body=beacon("oldkey", "https://old.example/"))
    assert r.status == 202


@pytest.mark.django_db(transaction=True)
def test_after_an_idle_spell_beacons_for_a_new_site_are_all_accepted() -> None:
    """The issue's reproduction on the real Site table: snapshot, a new site, a quiet spell
    past the TTL, then six beacons from one page: every one 202, every one published."""
    from web.analytics.models import Site

    rec = Recorder()
    cache = SiteCache(loader=load_sites, ttl=0.5)
    app = IngestApp(sites=cache, coalescer=Coalescer(rec), limiter=RateLimiter(rate=10, burst=60))
    cache.load_now()
    site = Site.objects.create(name="New", domains=["fresh.example"])
    time.sleep(0.8)  # idle past the cache window
    statuses = []
    for i in range(6):
        plausible = {"n": "pageview", "u": f"https://fresh.example/{i}", "d": "fresh.example"}
        r = call(app, "POST", "/api/event", body=json.dumps(plausible).encode())
        statuses.append(r.status)
    assert statuses == [202] * 6
    assert [e["site"] for e in rec.events] == [site.pk] * 6


def _add_site(web: WebProcess, domain: str) -> tuple[int, str]:
    """Insert a site into the web process's data.db behind its back (as the admin would)."""
    key = uuid.uuid4().hex[:20]
    con = sqlite3.connect(web.data_dir / "data.db")
    try:
        cols = {row[1] for row in con.execute("PRAGMA table_info(analytics_site)")}
        values = {
            "name": domain,
            "domains": json.dumps([domain]),
            "public_key": key,
            "timezone": "UTC",
            "created_at": "2026-12-06 00:00:00",
            "aliases": "[]",
        }
        values = {k: v for k, v in values.items() if k in cols}
        marks = ", ".join("?" * len(values))
        with con:
            cur = con.execute(
                f"INSERT INTO analytics_site ({', '.join(values)}) VALUES ({marks})",
                list(values.values()),
            )
        return int(cur.lastrowid or 0), key
    finally:
        con.close()


def test_real_web_process_accepts_a_site_created_after_its_snapshot(
    ingest_web: WebProcess,
) -> None:
    web = ingest_web
    with httpx.Client(base_url=web.url, headers=UA, timeout=10) as c:
        # The process has a snapshot; an unknown key is refused (and uses up a miss load).
        junk = c.post("/ingest/e", content=beacon("no-such-key", "https://x.test/"))
        assert junk.status_code == 400
        domain = f"s{uuid.uuid4().hex[:8]}.example"
        site_id, key = _add_site(web, domain)
        time.sleep(1.1)  # the junk key above used this second's miss load
        seq = web.last_seq()
        first = c.post("/ingest/e", content=beacon(key, f"https://{domain}/landing?utm_source=x"))
        plausible = {"n": "pageview", "u": f"https://{domain}/two", "d": domain}
        second = c.post("/api/event", content=json.dumps(plausible))
    assert [first.status_code, second.status_code] == [202, 202], [first.text, second.text]
    events = web.wait_events(seq, 2)
    assert sorted(e["url"] for e in events) == [
        f"https://{domain}/landing?utm_source=x",
        f"https://{domain}/two",
    ]
    assert {e["site"] for e in events} == {site_id}
