"""In headless Chromium against a running site (uvicorn) and a real `python -m worker`: three
images in one upload, their progress lines turning into thumbnails as the worker publishes
them (no reload), and the image page's snippet copied by its button (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from web.core.testing import start_process, stop_group
from web.core.testing.server import Server
from web.core.testing.site import seed, site_env
from web.env import REPO_ROOT

pytestmark = pytest.mark.browser
ARTIFACTS = REPO_ROOT / "test-artifacts"


def _photo(path: Path, shade: int) -> Path:
    im = PILImage.linear_gradient("L").resize((1800, 1200)).convert("RGB")
    im.paste((shade, 120, 40), (100, 100, 700, 500))
    im.save(path, "JPEG", quality=85)
    return path


@pytest.fixture
def site(nats_server: Any, s3_server: Any, tmp_path: Path) -> Iterator[tuple[dict[str, str], Any]]:
    env = site_env(nats_server, s3_server, tmp_path / "data")
    data = seed(env)  # a staff session (and a post whose cover is image 1)
    server = Server(env, log=tmp_path / "uvicorn.log").start("web.asgi:application")
    try:
        yield env, {"url": server.url, "session": data["staff_session"]}
    finally:
        server.stop()


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The worker with the images family only (the media jobs)."""
    return start_process(
        [sys.executable, "-m", "worker"],
        {**env, "HEARTH_WORKER_JOBS": "web.media.jobs", "HEARTH_WORKER_FAMILIES": "images"},
        log,
    )


def test_upload_several_watch_progress_and_copy_the_snippet(
    site: tuple[dict[str, str], Any], browser: Any, tmp_path: Path
) -> None:
    env, app = site
    files = [str(_photo(tmp_path / f"harbour-{i}.jpg", 60 * i)) for i in range(3)]
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=app["url"])
    ctx.add_cookies([{"name": "sessionid", "value": app["session"], "url": app["url"]}])
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    worker = None
    try:
        page.goto(f"{app['url']}/admin/media/image/add/")
        page.set_input_files("input[name=upload]", files)
        page.fill("input[name=alt]", "Boats in the harbour")
        page.click("input[name=_save]")
        page.wait_for_url(f"{app['url']}/admin/media/image/")
        assert "3 images uploaded; their variants are being made." in page.content()
        # No worker yet: each new image shows where its variants are.
        lines = page.locator("span.media-progress[data-progress-url]")
        assert lines.count() == 3
        assert lines.all_inner_texts() == ["Making variants: 0 of 10"] * 3
        page.screenshot(path=str(ARTIFACTS / "media-upload-progress-1280x800.png"))

        worker = _start_worker(env, tmp_path / "worker.log")
        # The polling script swaps each line for its thumbnail once READY: 3 new + the cover.
        page.wait_for_function(
            "() => !document.querySelector('[data-progress-url]')"
            " && document.querySelectorAll('#result_list img').length === 4",
            timeout=60_000,
        )
        for img in page.locator("#result_list img").all():
            assert img.evaluate("i => i.complete && i.naturalWidth") == 400  # really loaded
        page.screenshot(path=str(ARTIFACTS / "media-upload-ready-1280x800.png"))

        page.click("#result_list tbody tr:first-child th a")  # the newest image's page
        snippet = page.locator("input.media-embed")
        value = snippet.input_value()
        image_id = page.url.rstrip("/").split("/")[-2]
        assert value == f"![Boats in the harbour](media:{image_id})"
        page.click("button[data-copy]")
        page.wait_for_function(
            "() => document.querySelector('button[data-copy]').textContent === 'Copied'"
        )
        assert page.evaluate("navigator.clipboard.readText()") == value
        rows = page.locator("table.media-variants tr.media-variant")
        assert rows.count() == 10
        assert "Ready: all 10 variants published" in page.content()
        for width, height in ((1280, 800), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            shot = ARTIFACTS / f"media-image-page-{width}x{height}.png"
            page.screenshot(path=str(shot), full_page=True)
            # The variants table (long keys) fits: no horizontal scrolling of the page.
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), width
    finally:
        ctx.close()
        if worker is not None:
            stop_group(worker)
    assert errors == [], errors
