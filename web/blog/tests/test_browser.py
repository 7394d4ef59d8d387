"""The site in real headless Chromium: responsive images without layout shift, and live
comments (reader posts → admin sees it live → admin approves → other readers see it live)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from web.core.testing import stop_group
from web.core.testing.server import Server
from web.core.testing.site import seed, site_env

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(nats_server, s3_server, tmp_path_factory) -> Iterator[tuple[Server, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("site")
    env = site_env(nats_server, s3_server, root / "data")
    data = seed(env)
    server = Server(env, log=root / "uvicorn.log").start("web.asgi:application")
    try:
        yield server, data
    finally:
        server.stop()


def _context(browser: Any, server: Server, session: str | None = None, **kw: Any) -> Any:
    ctx = browser.new_context(**kw)
    if session:
        ctx.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
    return ctx


CLS_PROBE = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) { if (!e.hadRecentInput) window.__cls += e.value; }
}).observe({type: "layout-shift", buffered: true});
"""


def test_post_page_images_come_from_srcset_without_layout_shift(browser, site) -> None:  # type: ignore[no-untyped-def]
    server, data = site
    ctx = _context(browser, server, viewport={"width": 800, "height": 900})
    ctx.add_init_script(CLS_PROBE)
    page = ctx.new_page()
    page.goto(server.url + data["post_url"])
    img = page.locator("picture.cover img")
    img.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('picture.cover img');"
        " return i.complete && i.naturalWidth > 0; }",
        timeout=10_000,
    )
    info = page.evaluate(
        """() => { const i = document.querySelector('picture.cover img');
        const s = i.closest('picture').querySelector('source');
        return {current: i.currentSrc, w: i.getAttribute('width'), h: i.getAttribute('height'),
                alt: i.alt, natural: i.naturalWidth, srcset: s.srcset, type: s.type,
                box: i.getBoundingClientRect().height}; }"""
    )
    assert info["type"] == "image/webp" and info["alt"] == "A soft radial gradient"
    assert info["w"] == "1024" and info["h"] == "768"
    candidates = [c.strip().split(" ")[0] for c in info["srcset"].split(",")]
    assert info["current"] in candidates, info  # chosen from the WebP srcset
    # naturalWidth is density-corrected for srcset images (file width / chosen density).
    assert info["current"].endswith(".webp") and info["natural"] > 0
    page.wait_for_timeout(300)
    assert page.evaluate("window.__cls") == 0
    # The box was reserved before the image arrived: width/height give the aspect ratio.
    assert (
        abs(info["box"] - page.evaluate("document.querySelector('picture.cover img').width") * 0.75)
        < 2
    )
    ctx.close()


def test_comment_appears_live_in_admin_and_other_browsers(browser, site) -> None:  # type: ignore[no-untyped-def]
    server, data = site
    post_url = server.url + data["post_url"]

    anon = _context(browser, server).new_page()
    anon.goto(post_url)
    anon.evaluate("window.__noReload = 'still here'")

    admin = _context(browser, server, data["staff_session"]).new_page()
    admin.goto(server.url + "/admin/blog/comment/")
    assert admin.locator("#live-pending").is_hidden()

    reader = _context(browser, server, data["reader_session"]).new_page()
    reader.goto(post_url)
    reader.fill("#c-name", "Rita Reader")
    reader.fill("#c-body", "Live *hello* from a reader")
    reader.click(".comment-form button[type=submit]")
    reader.wait_for_url("**?posted=pending#comments")
    reader.evaluate("window.__noReload = 'still here'")

    # The moderation queue shows the new comment without reload.
    admin.locator("#live-pending li").first.wait_for(timeout=5_000)
    assert "Live" in admin.locator("#live-pending li").first.inner_text()
    assert anon.locator(".comment").count() == 0

    admin.reload()  # the queue itself (server-rendered) lists it too
    admin.locator("input.action-select").first.check()
    admin.select_option("select[name=action]", "approve")
    admin.click("button[name=index]")
    admin.wait_for_load_state()
    approved_at = time.monotonic()
    for page in (anon, reader):
        page.locator(".comment em", has_text="hello").wait_for(timeout=1_000)
    elapsed = time.monotonic() - approved_at
    assert elapsed < 1.0, f"comment took {elapsed:.2f}s to appear"
    for page in (anon, reader):
        assert page.evaluate("window.__noReload") == "still here"  # no reload happened
        assert "Rita Reader" in page.locator(".comment").first.inner_text()


def test_admin_upload_is_processed_by_the_real_worker(browser, site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Staff upload in the admin → images.process on JetStream → the worker (a real
    `python -m worker` process) writes the variants → the admin shows the processed image."""
    import io
    import subprocess
    import sys

    from PIL import Image as PILImage

    from web.env import REPO_ROOT

    server, data = site
    env = {
        **server.env,
        "HEARTH_WORKER_JOBS": "web.media.jobs,web.accounts.jobs",
        "HEARTH_WORKER_FAMILIES": "images,notify",
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        env=env,
        cwd=REPO_ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        upload = tmp_path / "upload.jpg"
        im = PILImage.linear_gradient("L").resize((1200, 900)).convert("RGB")
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        upload.write_bytes(buf.getvalue())

        page = _context(browser, server, data["staff_session"]).new_page()
        page.goto(server.url + "/admin/media/image/add/")
        page.fill("#id_alt", "Uploaded through the admin")
        page.set_input_files("#id_upload", str(upload))
        page.click("input[name=_continue]")
        page.wait_for_url("**/admin/media/image/*/change/**")

        # The change page polls its progress and reloads itself once the image is ready
        # (media/admin-images.js): wait for that. A reload of our own could race its reload
        # ("Not attached to an active page", seen in a CI run).
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_selector(".field-preview img", timeout=30_000)
        except PlaywrightTimeout:
            log_tail = log.read_text()[-3000:]
            raise AssertionError(f"not processed in 30 s; worker log:\n{log_tail}") from None
        thumb = page.locator(".field-preview img")
        assert thumb.get_attribute("alt") == "Uploaded through the admin"
        page.wait_for_function(
            "() => document.querySelector('.field-preview img').naturalWidth === 400"
        )
        status = page.locator(".field-progress .readonly").inner_text().strip()
        assert status == "Ready: all 8 variants published", status
        kinds = page.locator("tr.media-variant td:first-child").all_inner_texts()
        # 320/640/1024 (never upscaled to 1600) and the thumbnail, each WebP and JPEG.
        assert sorted(kinds) == sorted(["w320", "w640", "w1024", "thumb"] * 2), kinds
    finally:
        stop_group(worker)
