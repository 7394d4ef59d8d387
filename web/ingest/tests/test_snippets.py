"""Snippets owners already have (issue 16, item 7): Hearth's drop-in tracker build at the
paths Plausible, Umami and GoatCounter snippets load, reading their attributes."""

from __future__ import annotations

import contextlib
import gzip
import json
import time
import uuid
from typing import Any

import pytest

from web.core.testing import wait_until
from web.ingest import tracker
from web.ingest.handler import IngestApp
from web.ingest.publisher import Coalescer
from web.ingest.sites import SiteCache, SiteInfo
from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA, Recorder, call, lean_router
from web.ingest.tests.test_sites import add_site

SERVED = [
    "/js/script.js",
    "/js/plausible.js",
    "/js/script.outbound-links.js",
    "/js/script.hash.outbound-links.tagged-events.js",
    "/js/script.file-downloads.manual.js",
    "/js/plausible.hash.js",
    "/js/pa-XyZ_12-ab.js",
    "/script.js",
    "/count.js",
]


@pytest.mark.parametrize("path", SERVED)
def test_the_drop_in_build_is_served_where_snippets_load_it(path: str) -> None:
    r = call(lean_router(), "GET", path, headers={"accept-encoding": "gzip"})
    assert r.status == 200, r.body
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "public, max-age=300"
    assert r.headers["access-control-allow-origin"] == "*"
    assert gzip.decompress(r.body) == tracker.COMPAT.body


@pytest.mark.parametrize(
    "path", ["/js/script.<x>.js", "/js/script.js.map", "/js/plausible..js", "/js/pa-.js"]
)
def test_other_names_under_those_prefixes_are_404(path: str) -> None:
    r = call(lean_router(), "GET", path)
    assert r.status == 404 and b"<html" not in r.body


def test_the_drop_in_build_is_the_tracker_with_a_head_and_a_tail_within_2_kb() -> None:
    core = tracker.SCRIPT.body.split(b"\n", 1)[1]
    assert core in tracker.COMPAT.body
    size = len(tracker.COMPAT.gz)
    assert size <= tracker.COMPAT_MAX_GZIP_BYTES == 2048, f"{size} bytes gzipped"
    # Hearth's own snippet keeps its own budget (test_tracker.py) and does not pay for this.
    assert b"umami" not in tracker.SCRIPT.body and b"goatcounter" not in tracker.SCRIPT.body
    src = tracker.COMPAT.body.decode()
    assert "document.cookie" not in src and "setItem" not in src


def test_native_beacons_may_name_the_site_by_domain_or_several_domains() -> None:
    sites = [SiteInfo(1, "k1", ("a.example",)), SiteInfo(2, "k2", ("b.example",), ("alias-b",))]
    cache = SiteCache(loader=lambda: list(sites))
    cache.load_now()
    rec = Recorder()
    app = IngestApp(sites=cache, coalescer=Coalescer(rec), limiter=None)

    def send(**fields: Any) -> int:
        body = {"n": "pageview", "u": "https://b.example/x", "k": None, "d": None, **fields}
        return call(app, "POST", "/ingest/e", body=json.dumps(body).encode()).status

    assert send(d="b.example") == 202  # a Plausible data-domain
    assert send(d="www.B.example") == 202  # walks up, case-insensitive
    assert send(d="alias-b") == 202  # or an alias
    assert send(u="https://a.example/y", d="a.example, b.example") == 202  # two sites
    # Two hits; the one for b.example is dropped ("hostname": the page is on a.example).
    assert [e["site"] for e in rec.events] == [2, 2, 2, 1]
    assert rec.events[-1]["url"] == "https://a.example/y"
    assert send() == 400  # neither k nor d
    assert send(d=",".join(f"s{i}.example" for i in range(11))) == 400
    assert send(k="k1", d="b.example", u="https://a.example/") == 202  # k wins
    assert rec.events[-1]["site"] == 1


# -- real snippets in headless Chromium --------------------------------------------------
@pytest.fixture(scope="module")
def compat_browser() -> Any:
    """Chromium as the compatibility tests need it: not flagged as automated (Plausible's
    own script would stop), *.test host names on 127.0.0.1 (pages and Hearth both on
    loopback, so Chromium's local-network checks do not block the script)."""
    from playwright.sync_api import sync_playwright

    from web.core.testing import CHROMIUM_ARGS, CHROMIUM_PATH

    args = [
        *CHROMIUM_ARGS,
        "--disable-blink-features=AutomationControlled",
        "--host-resolver-rules=MAP *.test 127.0.0.1",
    ]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM_PATH, args=args)
        try:
            yield b
        finally:
            b.close()


PAGES: dict[tuple[str, str], str] = {}  # (host, path) -> HTML


@pytest.fixture(scope="module")
def page_server() -> Any:
    """A plain HTTP server for the test pages, by Host header: http://<name>.test:<port>/."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = self.headers.get("host", "").split(":")[0]
            html = PAGES.get((host, self.path.split("?")[0]))
            body = (html or "not found").encode()
            self.send_response(200 if html else 404)
            js = self.path.split("?")[0].endswith(".js")
            self.send_header(
                "content-type", f"text/{'javascript' if js else 'html'}; charset=utf-8"
            )
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _hearth(web: WebProcess) -> str:
    """Hearth's origin under a host name of its own (as an owner's stats.example would be)."""
    return web.url.replace("127.0.0.1", "hearth.test")


def _page_on(browser: Any, port: int, host: str, html: str, path: str = "/landing") -> Any:
    PAGES[(host, path)] = html
    ctx = browser.new_context(user_agent=BROWSER_UA)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"http://{host}:{port}{path}?utm_source=newsletter")
    return ctx, page


def _wait(web: WebProcess, seq: int, site: int, n: int) -> list[dict[str, Any]]:
    """This site's events after ``seq`` (engagement left out), once ``n`` arrived (or 15 s),
    plus any that follow within half a second (so an extra event fails the test)."""

    def mine() -> list[dict[str, Any]]:
        return [e for e in web.events_after(seq) if e["site"] == site and e["kind"] != "engagement"]

    with contextlib.suppress(AssertionError):  # too few: the caller's asserts say which
        wait_until(lambda: len(mine()) >= n, timeout=15, interval=0.2)
    time.sleep(0.5)  # a window for an extra (wrong) event, not a wait for a condition
    return mine()


@pytest.mark.browser
def test_an_unmodified_plausible_snippet_records_pageviews_and_events(
    compat_browser: Any, ingest_web: WebProcess, page_server: int
) -> None:
    web, run, hearth = ingest_web, uuid.uuid4().hex[:8], _hearth(ingest_web)
    host = f"plausible-{run}.test"
    site_id, _ = add_site(web, host)
    src = f"{hearth}/js/script.outbound-links.tagged-events.js"
    stub = (  # Plausible's documented snippet for calls made before the script loads
        "window.plausible = window.plausible || function() "
        "{ (window.plausible.q = window.plausible.q || []).push(arguments) }"
    )
    html = f"""<!doctype html><html><head><title>P</title>
<script defer data-domain="{host}" src="{src}"></script>
<script>{stub}</script>
</head><body>
<button id="call" onclick="plausible('Signup', {{props: {{plan: 'pro'}}}})">call</button>
<button id="tagged" class="btn plausible-event-name=Join+Now plausible-event-tier=gold">tag</button>
<a id="out" href="https://example.org/away" onclick="event.preventDefault()">out</a>
</body></html>"""
    seq = web.last_seq()
    ctx, page = _page_on(compat_browser, page_server, host, html)
    page.evaluate("plausible('Queued')")  # a call through the snippet's queue stub or the shim
    page.click("#call")
    page.click("#tagged")
    page.click("#out")
    events = _wait(web, seq, site_id, 5)
    assert page.errors == [], page.errors
    ctx.close()
    by_name = {e["name"]: e for e in events}
    assert "pageview" in by_name, (events, web.log.read_text()[-3000:])
    pv = by_name["pageview"]
    assert (
        pv["url"] == f"http://{host}:{page_server}/landing?utm_source=newsletter"
        and pv["src"] == "hearth"
    )
    assert by_name["Signup"]["props"] == {"plan": "pro"}
    assert by_name["Join Now"]["props"] == {"tier": "gold"}
    assert by_name["Outbound Link: Click"]["props"] == {"url": "https://example.org/away"}
    assert "Queued" in by_name
    assert sorted(by_name) == ["Join Now", "Outbound Link: Click", "Queued", "Signup", "pageview"]


@pytest.mark.browser
def test_an_unmodified_umami_snippet_records_pageviews_and_events(
    compat_browser: Any, ingest_web: WebProcess, page_server: int
) -> None:
    web, run, hearth = ingest_web, uuid.uuid4().hex[:8], _hearth(ingest_web)
    host = f"umami-{run}.test"
    website_id = str(uuid.uuid4())
    site_id, _ = add_site(web, host, aliases=(website_id,))
    html = f"""<!doctype html><html><head><title>U</title>
<script defer src="{hearth}/script.js" data-website-id="{website_id}"></script>
</head><body>
<button id="attr" data-umami-event="Signup" data-umami-event-plan="pro">attr</button>
<button id="call" onclick="umami.track('Called', {{via: 'js'}})">call</button>
<a id="out" href="https://example.org/x" onclick="event.preventDefault()"
   data-umami-event="Outbound Link: Click" data-umami-event-url="https://example.org/x">out</a>
</body></html>"""
    seq = web.last_seq()
    ctx, page = _page_on(compat_browser, page_server, host, html)
    page.wait_for_function("typeof window.umami == 'object'")
    page.click("#attr")
    page.click("#call")
    page.click("#out")  # tagged by the owner: its event once, no automatic outbound event
    events = _wait(web, seq, site_id, 5)
    assert page.errors == [], page.errors
    ctx.close()
    by_name = {e["name"]: e for e in events}
    assert (
        by_name["pageview"]["url"] == f"http://{host}:{page_server}/landing?utm_source=newsletter"
    )
    assert by_name["Signup"]["props"] == {"plan": "pro"}
    assert by_name["Called"]["props"] == {"via": "js"}
    assert by_name["Outbound Link: Click"]["props"] == {"url": "https://example.org/x"}
    assert len(events) == 4


@pytest.mark.browser
def test_umami_data_domains_and_auto_track_are_respected(
    compat_browser: Any, ingest_web: WebProcess, page_server: int
) -> None:
    web, run, hearth = ingest_web, uuid.uuid4().hex[:8], _hearth(ingest_web)
    host = f"umami-off-{run}.test"
    website_id = str(uuid.uuid4())
    site_id, _ = add_site(web, host, aliases=(website_id,))
    seq = web.last_seq()
    # Not one of data-domains: the tracker stays silent, and its API does not throw.
    html = f"""<!doctype html><html><head>
<script src="{hearth}/script.js" data-website-id="{website_id}" data-domains="other.test"></script>
</head><body><button id="call" onclick="umami.track('Nope')">call</button></body></html>"""
    ctx, page = _page_on(compat_browser, page_server, host, html)
    page.click("#call")
    # data-auto-track="false": no automatic pageview, but umami.track() calls are sent.
    html2 = f"""<!doctype html><html><head>
<script src="{hearth}/script.js" data-website-id="{website_id}" data-auto-track="false"></script>
</head><body><button id="call" onclick="umami.track('Manual')">call</button></body></html>"""
    PAGES[(host, "/two")] = html2
    page.goto(f"http://{host}:{page_server}/two")
    page.click("#call")
    events = _wait(web, seq, site_id, 1)
    assert page.errors == [], page.errors
    ctx.close()
    assert [e["name"] for e in events] == ["Manual"]


@pytest.mark.browser
def test_an_unmodified_goatcounter_snippet_records_pageviews_and_events(
    compat_browser: Any, ingest_web: WebProcess, page_server: int
) -> None:
    web, run, hearth = ingest_web, uuid.uuid4().hex[:8], _hearth(ingest_web)
    host = f"goat-{run}.test"
    code = f"gc-{run}"  # the owner's GoatCounter code, kept as an alias
    site_id, _ = add_site(web, host, aliases=(code,))
    endpoint = hearth.replace("http:", "")  # GoatCounter's snippet is protocol-relative
    call = "goatcounter.count({path: 'click-signup', title: 'Sign up', event: true})"
    # GoatCounter counts route changes only when the page says so, as its docs show.
    spa = "history.pushState({}, '', '/next'); goatcounter.count({path: '/next'})"
    html = f"""<!doctype html><html><head><title>G</title>
<script data-goatcounter="{hearth}/count" async src="{endpoint}/count.js"></script>
</head><body>
<button id="call" onclick="{call}">call</button>
<button id="attr" data-goatcounter-click="signup-button">attr</button>
<button id="spa" onclick="{spa}">spa</button>
</body></html>"""
    seq = web.last_seq()
    ctx, page = _page_on(compat_browser, page_server, host, html)
    page.wait_for_function("typeof window.goatcounter == 'object'")
    page.click("#call")
    page.click("#attr")
    page.click("#spa")
    events = _wait(web, seq, site_id, 4)
    # An endpoint with a query (?k=CODE, as for GoatCounter's own count.js): still Hearth.
    PAGES[(host, "/coded")] = html.replace(f"{hearth}/count", f"{hearth}/count?k={code}")
    page.goto(f"http://{host}:{page_server}/coded")
    events = _wait(web, seq, site_id, 5)
    assert page.errors == [], page.errors
    ctx.close()
    by_name = {e["name"]: e for e in events}
    assert by_name["click-signup"]["kind"] == "custom"
    assert by_name["signup-button"]["kind"] == "custom"
    assert [e["url"] for e in events if e["name"] == "pageview"] == [
        f"http://{host}:{page_server}/landing?utm_source=newsletter",
        f"http://{host}:{page_server}/next",  # once: pushState alone counts nothing here
        f"http://{host}:{page_server}/coded",
    ]
    assert len(events) == 5


@pytest.mark.browser
def test_plausible_data_api_and_hash_variant_and_umami_host_url(
    compat_browser: Any, ingest_web: WebProcess, page_server: int
) -> None:
    """data-api (Plausible's /api/event → /ingest/e), the hash variant (a pageview per hash
    change, hash kept), and Umami's data-host-url, with the scripts loaded from elsewhere
    (a proxy or a CDN path) so only the attributes can point at Hearth."""
    web, run, hearth = ingest_web, uuid.uuid4().hex[:8], _hearth(ingest_web)
    host = f"api-{run}.test"
    website_id = str(uuid.uuid4())
    site_id, _ = add_site(web, host, aliases=(website_id,))
    # The scripts come from another server (a CDN, a proxy) that takes no beacons: events
    # reach Hearth only if the attributes point them there.
    cdn = f"http://cdn.test:{page_server}"
    script = tracker.COMPAT.body.decode()
    PAGES[("cdn.test", "/js/script.hash.js")] = PAGES[("cdn.test", "/script.js")] = script
    html = f"""<!doctype html><html><head><title>A</title>
<script defer data-domain="{host}" data-api="{hearth}/api/event"
        src="{cdn}/js/script.hash.js"></script>
</head><body><button id="hash" onclick="location.hash = '#/pricing'">hash</button>
</body></html>"""
    seq = web.last_seq()
    ctx, page = _page_on(compat_browser, page_server, host, html)
    page.wait_for_function("typeof window.plausible == 'function'")
    page.click("#hash")
    events = _wait(web, seq, site_id, 2)
    assert [e["url"] for e in events] == [
        f"http://{host}:{page_server}/landing?utm_source=newsletter",
        f"http://{host}:{page_server}/landing?utm_source=newsletter#/pricing",
    ]
    html2 = f"""<!doctype html><html><head>
<script defer src="{cdn}/script.js" data-website-id="{website_id}" data-host-url="{hearth}/">
</script></head><body></body></html>"""
    PAGES[(host, "/umami")] = html2
    page.goto(f"http://{host}:{page_server}/umami")
    events = _wait(web, seq, site_id, 3)
    assert page.errors == [], page.errors
    ctx.close()
    assert events[-1]["url"] == f"http://{host}:{page_server}/umami"
    assert len(events) == 3
