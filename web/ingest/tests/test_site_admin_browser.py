"""The Site admin page in headless Chromium on the real site (web.asgi under uvicorn):
the beacon counts, and "Send a test pageview" arriving (issue 17, item 8)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from web.core.testing import wait_until
from web.core.testing.server import Server
from web.core.testing.site import seed, site_env
from web.env import REPO_ROOT

pytestmark = pytest.mark.browser

ARTIFACTS = REPO_ROOT / "test-artifacts"
_SETUP = """
import json
from web.analytics.models import Site
site = Site.objects.create(name="Shop", domains=["shop.test"], aliases=["umami-id-1"])
print(json.dumps({"site_id": site.pk}))
"""


@pytest.fixture(scope="module")
def site(nats_server, s3_server, tmp_path_factory) -> Iterator[tuple[Server, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("site-admin")
    env = site_env(nats_server, s3_server, root / "data")
    data = seed(env)
    argv = [sys.executable, "-c", "import django; django.setup();" + _SETUP]
    out = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    data.update(json.loads(out.stdout.strip().splitlines()[-1]))
    server = Server(env, log=root / "uvicorn.log").start("web.asgi:application")
    try:
        yield server, data
    finally:
        server.stop()


def test_site_page_shows_beacons_and_a_test_pageview_arrives(site, browser: Any) -> None:  # type: ignore[no-untyped-def]
    server, data = site
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"{server.url}/admin/analytics/site/{data['site_id']}/change/"
    for width, height in [(1280, 800), (390, 844)]:
        ctx = browser.new_context(viewport={"width": width, "height": height})
        ctx.add_cookies([{"name": "sessionid", "value": data["staff_session"], "url": server.url}])
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        before = "0 accepted" if width == 1280 else "1 accepted"  # the 390 pass comes after
        assert before in page.locator("#beacons").inner_text()
        assert page.locator("textarea[name=aliases]").input_value() == "umami-id-1"
        page.screenshot(path=str(ARTIFACTS / f"site-admin-{width}x{height}.png"), full_page=True)
        if width == 1280:
            page.click("#test-pageview")
            page.wait_for_load_state("load")
            assert "accepted (HTTP 202)" in page.locator(".messagelist").inner_text()
            assert "1 accepted" in page.locator("#beacons").inner_text()
            page.screenshot(
                path=str(ARTIFACTS / "site-admin-after-test-pageview-1280x800.png"),
                full_page=True,
            )
        ctx.close()
    assert errors == [], errors


def test_refused_beacons_show_on_the_site_page(site, browser: Any) -> None:  # type: ignore[no-untyped-def]
    import httpx

    server, data = site
    ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
    body = json.dumps({"n": "pageview", "u": "https://typo.test/", "d": "typo.test"})
    r = httpx.post(f"{server.url}/ingest/e", content=body, headers={"user-agent": ua})
    assert r.status_code == 400
    ctx = browser.new_context()
    ctx.add_cookies([{"name": "sessionid", "value": data["staff_session"], "url": server.url}])
    page = ctx.new_page()
    url = f"{server.url}/admin/analytics/site/{data['site_id']}/change/"

    def beacons() -> str:
        page.goto(url)
        return str(page.locator("#beacons").inner_text())

    with contextlib.suppress(AssertionError):  # counts are written every ~10 s
        wait_until(lambda: "typo.test" in beacons(), timeout=20, interval=1)
    text = page.locator("#beacons").inner_text()
    assert "unknown domain typo.test \u00d71" in text
    ctx.close()
