"""Reads for the public site. Every public query starts from Post.objects.published()."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet

from web.blog.models import Comment, Post, Tag
from web.media.models import Variant

PAGE_SIZE = 10


def _list_qs() -> QuerySet[Post]:
    return (
        Post.objects.published()
        .select_related("cover")
        # Lists show thumbnails only: load 2 variant rows per cover instead of 10.
        .prefetch_related(
            "tags", Prefetch("cover__variants", queryset=Variant.objects.filter(kind="thumb"))
        )
        .defer("body_md", "body_html")
    )


def post_page(*, page: Any, kind: str = Post.Kind.POST, tag: Tag | None = None) -> Page:
    """One page of published posts, newest first; out-of-range pages give the last page."""
    # A tag page lists posts and projects alike; the other lists are one kind each.
    qs = _list_qs().filter(tags=tag) if tag is not None else _list_qs().filter(kind=kind)
    return Paginator(qs, PAGE_SIZE).get_page(page)


def post_public(*, slug: str) -> Post | None:
    return (
        Post.objects.published()
        .select_related("cover")
        .prefetch_related("tags", "cover__variants")
        .filter(slug=slug)
        .first()
    )


def comments_visible(*, post: Post) -> list[dict[str, Any]]:
    """Approved comments, oldest first, as plain rows (no model instances: see fragments.py)."""
    return list(
        Comment.objects.filter(post=post, status=Comment.Status.APPROVED).values(
            "id", "body_html", "created_at", "author__profile__display_name"
        )
    )


def feed_posts(*, limit: int = 20) -> QuerySet[Post]:
    return Post.objects.published().prefetch_related("tags")[:limit]


def sitemap_entries() -> QuerySet[Post]:
    return Post.objects.published().only("slug", "updated_at", "published_at")


def tags_in_use() -> QuerySet[Tag]:
    return Tag.objects.filter(posts__in=Post.objects.published()).distinct()


def post_id_is_public(key: str) -> bool:
    """For the live channel check: is `key` the id of a published post?"""
    if not key.isdigit():
        return False
    return Post.objects.published().filter(pk=int(key)).exists()
