"""The tracker in real headless Chromium: its beacons reach JetStream as analytics.events packs."""

from __future__ import annotations

from typing import Any

import pytest

from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA

pytestmark = pytest.mark.browser


def _names(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events]


def test_tracker_sends_every_kind_of_event(browser: Any, ingest_web: WebProcess) -> None:
    web = ingest_web
    # Headless Chromium says "HeadlessChrome" and would be dropped as a bot: look like Chrome.
    ctx = browser.new_context(user_agent=BROWSER_UA)
    page = ctx.new_page()
    seq = web.last_seq()
    page.goto(f"{web.url}/ingest-test/")
    [pv] = web.wait_events(seq, 1)
    assert (pv["kind"], pv["url"], pv["site"], pv["src"]) == (
        "pageview", f"{web.url}/ingest-test/", 1, "hearth",
    )  # fmt: skip
    assert pv["ua"] == BROWSER_UA and pv["ip"] == "127.0.0.1" and pv["screen"] > 0

    for button in ("#signup", "#call", "#out", "#dl", "#boom", "#reject"):
        page.click(button)
    events = web.wait_events(seq, 7)
    by_name = {e["name"]: e for e in events}
    assert by_name["Signup"]["props"] == {"plan": "pro"}
    assert by_name["Called"]["props"] == {"via": "js"}
    assert by_name["Outbound Link: Click"]["props"] == {"url": "https://example.org/elsewhere"}
    assert by_name["File Download"]["props"] == {"url": f"{web.url}/files/report.pdf"}
    assert by_name["ReferenceError"]["kind"] == "error"
    assert "nope" in by_name["ReferenceError"]["error"]["message"]
    assert by_name["ReferenceError"]["error"]["stack"]
    assert by_name["TypeError"]["error"]["message"] == "rejected on purpose"

    # SPA navigation: engagement (time, scroll) for the old page, then a pageview.
    page.mouse.wheel(0, 3000)
    page.wait_for_timeout(300)
    before = len(web.events_after(seq))
    page.click("#spa")
    spa = web.wait_events(seq, before + 2)[before:]
    assert _names(spa) == ["engagement", "pageview"]
    assert spa[0]["url"] == f"{web.url}/ingest-test/" and spa[0]["engaged_ms"] > 0
    assert spa[0]["scroll"] > 20
    assert spa[1]["url"] == f"{web.url}/ingest-test/next"
    assert spa[1]["ref"] == f"{web.url}/ingest-test/"

    # Closing the tab fires pagehide, which sends the last page's engagement (sendBeacon).
    # (Headless Chromium delivers no pagehide beacon on a same-tab navigation, nor does it
    # ever hide a tab, so closing is how this test hides the page.)
    page.wait_for_timeout(100)
    page.close(run_before_unload=True)
    [left] = web.wait_events(seq, before + 3)[before + 2 :]
    assert left["name"] == "engagement" and left["url"] == f"{web.url}/ingest-test/next"
    assert left["engaged_ms"] >= 100
    ctx.close()


def test_hash_routing_and_404(browser: Any, ingest_web: WebProcess) -> None:
    web = ingest_web
    ctx = browser.new_context(user_agent=BROWSER_UA)
    page = ctx.new_page()
    seq = web.last_seq()
    page.goto(f"{web.url}/ingest-test/?hash=1&404=1")
    page.click("#hashnav")
    events = [e for e in web.wait_events(seq, 4) if e["kind"] != "engagement"]
    assert _names(events) == ["pageview", "404", "pageview"]
    assert events[1]["props"] == {"path": "/ingest-test/"}
    assert events[2]["url"] == f"{web.url}/ingest-test/?hash=1&404=1#/section"
    ctx.close()


def test_opt_out_and_do_not_track_send_nothing(browser: Any, ingest_web: WebProcess) -> None:
    web = ingest_web
    ctx = browser.new_context(user_agent=BROWSER_UA)
    ctx.add_init_script("Object.defineProperty(navigator, 'doNotTrack', {get: () => '1'})")
    page = ctx.new_page()
    seq = web.last_seq()
    page.goto(f"{web.url}/ingest-test/?dnt=1&step=dnt")  # DNT respected: silent
    page.click("#signup")
    page.goto(f"{web.url}/ingest-test/?step=opted-out")
    page.evaluate("localStorage.setItem('hearth_ignore', '1')")
    page.reload()
    page.click("#signup")
    page.evaluate("localStorage.removeItem('hearth_ignore')")
    # DNT is set but the site did not ask to respect it: tracked. This is the end marker.
    page.goto(f"{web.url}/ingest-test/?step=tracked")
    events = web.wait_events(seq, 2)
    page.wait_for_timeout(300)
    events = [e for e in web.events_after(seq) if e["kind"] != "engagement"]
    assert [e["url"] for e in events] == [
        f"{web.url}/ingest-test/?step=opted-out",  # the load before opting out
        f"{web.url}/ingest-test/?step=tracked",
    ]
    ctx.close()


def test_headless_user_agent_is_dropped(browser: Any, ingest_web: WebProcess) -> None:
    web = ingest_web
    ctx = browser.new_context()  # Chromium's own HeadlessChrome UA
    page = ctx.new_page()
    with page.expect_response(lambda r: r.url.endswith("/ingest/e")) as info:
        page.goto(f"{web.url}/ingest-test/?step=headless")
    assert info.value.status == 202
    assert info.value.headers["x-hearth-drop"] == "bot"
    ctx.close()
