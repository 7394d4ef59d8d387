"""RSS 2.0 and Atom feeds of published posts (django.contrib.syndication).

Items carry the excerpt. With ``HEARTH_FEED_FULL_CONTENT=true`` they also carry the post's
whole HTML (the same sanitised ``body_html`` the page shows, ``media:<id>`` images expanded to
their public URLs, relative links made absolute): RSS as ``<content:encoded>``, Atom as
``<content type="html">``, so readers that prefer full text show it and others keep the
excerpt.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape

from web.blog.models import Post
from web.blog.selectors import feed_posts

CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
# href="/x" and src="/x" (site-relative, not protocol-relative): made absolute for readers.
_RELATIVE = re.compile(r'\b(href|src)="/(?!/)')


def full_content() -> bool:
    """Whether feed items carry the whole post (HEARTH_FEED_FULL_CONTENT)."""
    return bool(getattr(settings.ENV, "feed_full_content", False))


def post_feed_html(post: Post, base_url: str) -> str:
    """The post's body as a feed reader gets it: embedded images expanded, links absolute."""
    from web.media.selectors import expand_media_images

    html = expand_media_images(post.body_html)
    return _RELATIVE.sub(lambda m: f'{m.group(1)}="{base_url.rstrip("/")}/', html)


class _FullRss(Rss201rev2Feed):
    """RSS 2.0 with ``content:encoded`` for items that have ``content``."""

    def rss_attributes(self) -> dict[str, str]:
        return {**super().rss_attributes(), "xmlns:content": CONTENT_NS}

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        if item.get("content"):
            handler.addQuickElement("content:encoded", item["content"])


class _FullAtom(Atom1Feed):
    """Atom with ``<content type="html">`` for items that have ``content``."""

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        if item.get("content"):
            handler.addQuickElement("content", item["content"], {"type": "html"})


class LatestRss(Feed):
    link = "/"
    feed_type = _FullRss

    _base_url = "/"

    def __call__(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The URLconf holds one instance for all requests: the base URL goes on a copy.
        feed = copy.copy(self)
        feed._base_url = request.build_absolute_uri("/")
        return Feed.__call__(feed, request, *args, **kwargs)

    def title(self) -> str:
        return getattr(settings, "BLOG_SITE_NAME", "Hearth")

    def description(self) -> str:
        return getattr(settings, "BLOG_SITE_DESCRIPTION", "") or self.title()

    def items(self) -> list[Post]:
        return list(feed_posts())

    def item_title(self, item: Post) -> str:
        return item.title

    def item_description(self, item: Post) -> str:
        # Readers treat the description as HTML; the excerpt is plain text.
        return escape(item.excerpt)

    def item_extra_kwargs(self, item: Post) -> dict[str, Any]:
        if not full_content():
            return {}
        return {"content": post_feed_html(item, self._base_url)}

    def item_pubdate(self, item: Post):  # type: ignore[no-untyped-def]
        return item.published_at

    def item_updateddate(self, item: Post):  # type: ignore[no-untyped-def]
        return item.updated_at

    def item_categories(self, item: Post) -> list[str]:
        return [t.name for t in item.tags.all()]


class LatestAtom(LatestRss):
    feed_type = _FullAtom

    def subtitle(self) -> str:
        return self.description()
