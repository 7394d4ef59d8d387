"""Feeds with full content (HEARTH_FEED_FULL_CONTENT) and /favicon.ico."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.utils.html import escape

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
BODY = (
    "Intro with a [link](/about/) and `a -> <b>`.\n\n```python\ndef f():\n    return 1\n```\n\n"
    + "More. " * 80
)


@pytest.fixture
def post(make_post):  # type: ignore[no-untyped-def]
    return make_post("Full text", body_md=BODY)


def _set_full(settings, on: bool) -> None:  # type: ignore[no-untyped-def]
    settings.ENV = dataclasses.replace(settings.ENV, feed_full_content=on)


def test_feeds_carry_only_the_excerpt_by_default(post, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    _set_full(settings, False)
    rss = ET.fromstring(client.get("/feed.rss").content)
    item = next(rss.iter("item"))
    assert item.find(CONTENT) is None
    assert item.findtext("description") == escape(post.excerpt)
    atom = ET.fromstring(client.get("/feed.atom").content)
    entry = next(atom.iter(f"{ATOM}entry"))
    assert entry.find(f"{ATOM}content") is None


def test_feeds_carry_the_full_post_when_set(post, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    _set_full(settings, True)
    rss = ET.fromstring(client.get("/feed.rss").content)
    item = next(rss.iter("item"))
    html = item.findtext(CONTENT)
    assert html is not None
    assert item.findtext("description") == escape(post.excerpt)  # summary kept beside it
    assert '<span class="k">def</span>' in html  # the rendered, highlighted body
    assert html.count("More.") == 80  # all of it, not the excerpt
    assert 'href="http://testserver/about/"' in html  # relative links made absolute
    atom = ET.fromstring(client.get("/feed.atom").content)
    content = next(atom.iter(f"{ATOM}entry")).find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert content.text == html


def test_favicon_is_served(client: Client) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 200
    assert r["Content-Type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # ICO header
    assert "max-age" in r["Cache-Control"]


def test_excerpt_is_plain_text_and_escaped_in_feeds(post, client: Client) -> None:  # type: ignore[no-untyped-def]
    """The excerpt decodes entities (the page shows "a -> <b>", not "a -&gt; &lt;b&gt;") and
    the feeds escape it again, since readers treat a description as HTML."""
    assert "and a -> <b>." in post.excerpt
    assert "a -&gt; &lt;b&gt;" in client.get(post.get_absolute_url()).content.decode()
    rss = ET.fromstring(client.get("/feed.rss").content)
    assert "a -&gt; &lt;b&gt;" in next(rss.iter("item")).findtext("description")


def test_new_post_form_says_how_to_get_an_image_snippet(admin_client: Client) -> None:
    body = admin_client.get("/admin/blog/post/add/").content.decode()
    assert "Images to embed" in body
    assert "No images yet." in body and 'href="/admin/media/image/add/"' in body
    assert "<code>![alt](media:ID)</code>" in body
