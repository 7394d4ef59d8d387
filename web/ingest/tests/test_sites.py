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
    table.sites.append(SiteInfo(3, "k3", ("third.example",)))  # within the miss interval
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
    # Within the interval: misses wait for the next allowed load, and share it.
    assert asyncio.run(burst(20)) == [400] * 20
    assert table.loads == 3
    assert asyncio.run(burst(20)) == [400] * 20
    assert table.loads == 4
    # A known key never loads.
    r = call(app, "POST", "/ingest/e", body=beacon("oldkey", "https://old.example/"))
    assert r.status == 202 and table.loads == 4


def test_a_miss_never_trusts_a_snapshot_older_than_the_ttl() -> None:
    table = Table(SiteInfo(1, "oldkey", ("old.example",)))
    app = app_on(table, ttl=0.2, miss_interval=3600.0)
    call(app, "POST", "/ingest/e", body=beacon("junk", "https://x.example/"))  # a miss-load
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


def add_site(web: WebProcess, domain: str, aliases: tuple[str, ...] = ()) -> tuple[int, str]:
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
            "aliases": json.dumps(list(aliases)),
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
        # The process has a snapshot; an unknown key is refused (after a miss-load).
        junk = c.post("/ingest/e", content=beacon("no-such-key", "https://x.test/"))
        assert junk.status_code == 400
        domain = f"s{uuid.uuid4().hex[:8]}.example"
        site_id, key = add_site(web, domain)  # within a second of that load
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


# -- aliases (issue 16, item 4) ------------------------------------------------------------
UMAMI_ID = "3f1c2a9e-4b7d-4e55-9a0b-2c6f1d8e7a10"
ALIASED = [
    SiteInfo(1, "hearthkey", ("127.0.0.1",)),
    SiteInfo(3, "threekey", ("three.example",)),
    SiteInfo(9, "shopkey", ("shop.example",), aliases=(UMAMI_ID, "Old-Shop.io", "3", "G-ABC123")),
]


@pytest.mark.parametrize(
    ("how", "value", "site"),
    [
        ("key", "shopkey", 9),  # public key
        ("key", "9", 9),  # site id
        ("key", UMAMI_ID, 9),  # else an alias
        ("key", UMAMI_ID.upper(), 9),  # aliases are case-insensitive
        ("key", "3", 3),  # a key or id wins over an alias for "key"
        ("host", "www.shop.example", 9),  # domain, walking up
        ("host", "old-shop.io", 9),  # else an exact alias
        ("host", "www.old-shop.io", None),  # aliases are not walked up
        ("host", "three.example", 3),
        ("alias", "3", 9),  # an alias wins over an id for "alias" (a Matomo idsite)
        ("alias", "g-abc123", 9),
        ("alias", "threekey", 3),  # else a key or id
        ("alias", "nothing", None),
        ("key", "nothing", None),
    ],
)
def test_snapshot_resolves_keys_hosts_and_aliases_by_the_contract(
    how: str, value: str, site: int | None
) -> None:
    from web.ingest.sites import Snapshot

    found = Snapshot(ALIASED).find(how, value)
    assert (found.id if found else None) == site


def test_a_beacon_named_by_an_alias_is_accepted_but_still_checked_against_the_domains() -> None:
    table = Table(*ALIASED)
    app = app_on(table)
    app.coalescer = Coalescer(rec := Recorder())
    umami = {"type": "event", "payload": {"website": UMAMI_ID, "url": "https://shop.example/a"}}
    r = call(app, "POST", "/api/send", body=json.dumps(umami).encode())
    assert r.status == 202 and [e["site"] for e in rec.events] == [9]
    plausible = {"n": "pageview", "u": "https://shop.example/b", "d": "old-shop.io"}
    r = call(app, "POST", "/api/event", body=json.dumps(plausible).encode())
    assert r.status == 202 and [e["site"] for e in rec.events] == [9, 9]
    # The alias names the site, but the page is not on its domains: dropped as "hostname".
    umami["payload"]["url"] = "https://elsewhere.example/"
    r = call(app, "POST", "/api/send", body=json.dumps(umami).encode())
    assert r.status == 202 and r.headers["x-hearth-drop"] == "hostname"
    assert len(rec.events) == 2


@pytest.mark.django_db(databases=["default", "ttl"])
def test_admin_edits_aliases_and_refuses_one_another_site_uses(admin_client) -> None:  # type: ignore[no-untyped-def]
    from web.analytics.models import Site

    shop = Site.objects.create(name="Shop", domains=["shop.example"])
    blog = Site.objects.create(name="Blog", domains=["blog.example"], aliases=["plausible-blog"])
    url = f"/admin/analytics/site/{shop.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "Umami website id" in page and 'name="aliases"' in page
    form = {"name": "Shop", "domains": '["shop.example"]', "timezone": "UTC"}
    r = admin_client.post(url, {**form, "aliases": f"{UMAMI_ID}\nG-ABC123, 42"})
    assert r.status_code == 302, r.content.decode()[:2000]
    shop.refresh_from_db()
    assert shop.aliases == [UMAMI_ID, "G-ABC123", "42"]
    for clash, says in [
        ("PLAUSIBLE-BLOG", "'PLAUSIBLE-BLOG' is already an alias of the site 'Blog'"),
        ("blog.example", "'blog.example' is already a domain of the site 'Blog'"),
        (blog.public_key, "is already the site key of the site 'Blog'"),
        ("two words", "an alias is one word"),
    ]:
        r = admin_client.post(url, {**form, "aliases": clash})
        assert r.status_code == 200
        assert says in r.content.decode().replace("&#x27;", "'"), clash
    shop.refresh_from_db()
    assert shop.aliases == [UMAMI_ID, "G-ABC123", "42"]
    # Saved aliases reach ingest: load_sites carries them.
    (info,) = [s for s in load_sites() if s.id == shop.pk]
    assert info.aliases == (UMAMI_ID, "G-ABC123", "42")


def test_real_web_process_after_an_idle_spell_accepts_every_beacon_of_a_new_site(
    ingest_web: WebProcess,
) -> None:
    """The issue's reproduction as it was measured: a site saved, the web process idle past
    its 10 s snapshot TTL, then six beacons: the first ones were 400 before the fix."""
    web = ingest_web
    domain = f"idle{uuid.uuid4().hex[:8]}.example"
    site_id, _ = add_site(web, domain)
    time.sleep(11)  # the default INGEST_SITE_TTL_S is 10 s
    seq = web.last_seq()
    with httpx.Client(base_url=web.url, headers=UA, timeout=10) as c:
        statuses = [
            c.post(
                "/api/event",
                content=json.dumps({"n": "pageview", "u": f"https://{domain}/{i}", "d": domain}),
            ).status_code
            for i in range(6)
        ]
    assert statuses == [202] * 6
    events = web.wait_events(seq, 6)
    assert sorted(e["url"] for e in events if e["site"] == site_id) == [
        f"https://{domain}/{i}" for i in range(6)
    ]


def test_misses_past_the_clients_rate_are_refused_without_a_load() -> None:
    table = Table(SiteInfo(1, "oldkey", ("old.example",)))
    cache = SiteCache(loader=table, ttl=60.0, miss_interval=0.0)
    cache.load_now()
    limiter = RateLimiter(rate=0.001, burst=2)  # two tokens, no refill during the test
    app = IngestApp(sites=cache, coalescer=Coalescer(Recorder()), limiter=limiter)
    table.sites.append(SiteInfo(2, "newkey", ("new.example",)))
    r = call(app, "POST", "/ingest/e", body=beacon("newkey", "https://new.example/"))
    assert r.status == 202 and table.loads == 2  # a miss (one token), loaded, accepted (one)
    r = call(app, "POST", "/ingest/e", body=beacon("junk", "https://x/"))
    assert r.status == 400 and table.loads == 2  # out of tokens: refused, no load, no wait
    other = call(app, "POST", "/ingest/e", body=beacon("junk", "https://x/"), client="192.0.2.7")
    assert other.status == 400 and table.loads == 3  # another client still gets its load
