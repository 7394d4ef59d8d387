"""The admin post form, a public post, the comment list and the admin home in headless
Chromium at a laptop (1280x800) and a phone (390x844) width (issue 17, items 11, 12, 13):
no sideways scrolling, no console errors, a screenshot of each under ``test-artifacts/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from web.core.testing import assert_fits, run_django
from web.core.testing.server import Server
from web.core.testing.site import seed, site_env

pytestmark = pytest.mark.browser

SIZES = [(1280, 800), (390, 844)]

# A post with a highlighted code block, an embedded image and a long unbroken line, plus a
# moderation queue with long comments (what clipped the list's columns at 1280 px).
_SETUP = """
import json
from web.blog import services
from web.blog.models import Comment, Post
from web.media.models import Image
from django.contrib.auth import get_user_model
cover = Image.objects.get()
body = (
    "Some code:\\n\\n```python\\ndef greet(name: str) -> str:\\n"
    "    return f'Hello, {name}!'  # a comment that is long enough to need its own scroll bar"
    " inside the code block on a phone\\n```\\n\\n"
    f"![The gradient](media:{cover.pk})\\n\\nhttps://example.com/" + "a-very-long-path/" * 8
)
post = services.post_save(post=Post(title="Code and pictures", body_md=body, status="published"))
reader = get_user_model().objects.get(username="reader@example.com")
for i in range(6):
    Comment.objects.create(post=post, author=reader, status="pending",
        body_md=f"Comment {i}: " + "a thoughtful remark about the post, " * 6)
print(json.dumps({"url": post.get_absolute_url(), "post_id": post.pk, "image_id": cover.pk}))
"""


@pytest.fixture(scope="module")
def site(nats_server, s3_server, tmp_path_factory) -> Iterator[tuple[Server, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("admin-site")
    env = site_env(nats_server, s3_server, root / "data")
    data = seed(env)
    data.update(json.loads(run_django(env, _SETUP)))
    server = Server(env, log=root / "uvicorn.log").start("web.asgi:application")
    try:
        yield server, data
    finally:
        server.stop()


@pytest.fixture
def open_page(site, browser: Any) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    server, data = site
    contexts: list[Any] = []
    errors: list[str] = []

    def open_(path: str, size: tuple[int, int], *, staff: bool = False) -> Any:
        ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        if staff:
            ctx.add_cookies(
                [{"name": "sessionid", "value": data["staff_session"], "url": server.url}]
            )
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.goto(server.url + path)
        pg.wait_for_load_state("load")
        return pg

    yield open_
    for ctx in contexts:
        ctx.close()
    assert errors == [], errors


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_post_form_offers_image_snippets_to_copy(site, open_page, size) -> None:  # type: ignore[no-untyped-def]
    _, data = site
    pg = open_page(f"/admin/blog/post/{data['post_id']}/change/", size, staff=True)
    snippet = f"![A soft radial gradient](media:{data['image_id']})"
    field = pg.locator(f"#embed-{data['image_id']}")
    assert field.input_value() == snippet
    pg.wait_for_function("() => document.querySelector('.embed-list img').naturalWidth > 0")
    _inside_row(pg, ".field-embed_images")
    pg.locator(".embed-list button[data-copy]").first.click()
    pg.wait_for_function(
        "() => document.querySelector('.embed-list button').textContent === 'Copied'"
    )
    assert pg.evaluate("navigator.clipboard.readText()") == snippet
    assert_fits(pg, "admin-post-form")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_public_post_fits_and_code_is_highlighted(site, open_page, size) -> None:  # type: ignore[no-untyped-def]
    _, data = site
    pg = open_page(data["url"], size)
    keyword = pg.locator(".post .body pre code span.k").first
    assert keyword.inner_text() == "def"
    plain = pg.evaluate("getComputedStyle(document.querySelector('.post .body pre code')).color")
    assert keyword.evaluate("e => getComputedStyle(e).color") != plain  # the CSS applies
    pg.wait_for_function(
        "() => { const i = document.querySelector('.post .body picture img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert_fits(pg, "post-page")


def test_comment_list_is_not_clipped_at_1280(site, open_page) -> None:  # type: ignore[no-untyped-def]
    pg = open_page("/admin/blog/comment/", (1280, 800), staff=True)
    box = pg.evaluate(
        """() => {
        const r = s => document.querySelector(s).getBoundingClientRect();
        const filter = document.querySelector('#changelist-filter');
        return {status: r('th.column-status'), created: r('th.column-created_at'),
                results: r('#result_list'), filter: filter && r('#changelist-filter'),
                width: window.innerWidth}; }"""
    )
    assert pg.locator("#result_list tbody tr").count() == 6
    assert_fits(pg, "admin-comments")
    for col in ("status", "created"):
        assert box[col]["right"] <= box["width"], (col, box)
        f, c = box["filter"], box[col]
        if f and f["top"] < c["bottom"] and f["bottom"] > c["top"]:  # side by side
            assert c["right"] <= f["left"], (col, box)  # never under the filter


def test_admin_home_counts_comments_waiting(site, open_page) -> None:  # type: ignore[no-untyped-def]
    pg = open_page("/admin/", (1280, 800), staff=True)
    link = pg.locator("#moderation-queue a")
    assert link.inner_text() == "6 comments waiting for moderation"
    assert_fits(pg, "admin-home")
    link.click()
    pg.wait_for_url("**/admin/blog/comment/?status=pending")
    assert pg.locator("#result_list tbody tr").count() == 6


def _inside_row(pg: Any, selector: str) -> None:
    """Every part of a form row is inside it (rows clip with overflow: hidden, so a wider
    child is cut off rather than scrolled to)."""
    out = pg.evaluate(
        """s => { const row = document.querySelector(s).getBoundingClientRect();
        return [...document.querySelectorAll(s + ' *')].map(e => e.getBoundingClientRect())
          .filter(r => r.width && (r.left < row.left - 0.5 || r.right > row.right + 0.5))
          .length; }""",
        selector,
    )
    assert out == 0, f"{out} element(s) stick out of {selector}"


@pytest.mark.parametrize("path", ["/admin/blog/comment/", "/admin/"], ids=["comments", "home"])
def test_comment_list_and_home_fit_a_phone(open_page, path: str) -> None:  # type: ignore[no-untyped-def]
    pg = open_page(path, (390, 844), staff=True)
    assert_fits(pg, "admin-comments" if "comment" in path else "admin-home")
