"""RSS 2.0 and Atom feeds of published posts (django.contrib.syndication)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed

from web.blog.models import Post
from web.blog.selectors import feed_posts


class LatestRss(Feed):
    link = "/"

    def title(self) -> str:
        return getattr(settings, "BLOG_SITE_NAME", "Hearth")

    def description(self) -> str:
        return getattr(settings, "BLOG_SITE_DESCRIPTION", "") or self.title()

    def items(self) -> list[Post]:
        return list(feed_posts())

    def item_title(self, item: Post) -> str:
        return item.title

    def item_description(self, item: Post) -> str:
        return item.excerpt

    def item_pubdate(self, item: Post):  # type: ignore[no-untyped-def]
        return item.published_at

    def item_updateddate(self, item: Post):  # type: ignore[no-untyped-def]
        return item.updated_at

    def item_categories(self, item: Post) -> list[str]:
        return [t.name for t in item.tags.all()]


class LatestAtom(LatestRss):
    feed_type = Atom1Feed

    def subtitle(self) -> str:
        return self.description()
