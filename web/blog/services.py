"""Writes for the site: posts (rendered on save) and comments (moderated, published live)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator, slugify

from web.blog import live
from web.blog.markdown import render_comment, render_post
from web.blog.models import Comment, Post
from web.core import ratelimit

log = logging.getLogger(__name__)

COMMENT_MAX_CHARS = 5000
# Per user: (limit, window seconds). Short burst limit plus an hourly cap.
COMMENTS_PER_MINUTE = (3, 60)
COMMENTS_PER_HOUR = (20, 3600)


class CommentRejected(Exception):
    """A comment could not be accepted; `status` is the HTTP status, the message is for the user."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _unique_slug(title: str, *, exclude_pk: int | None) -> str:
    base = slugify(title)[:180] or "post"
    slug, n = base, 2
    while Post.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _excerpt_from(html: str) -> str:
    """Plain text (entities decoded: templates and feeds escape it again, so "->" in a code
    block is shown as "->", not "-&gt;")."""
    text = re.sub(r"\s+", " ", unescape(strip_tags(html))).strip()
    return Truncator(text).chars(300)


def post_prepare(*, post: Post) -> Post:
    """Fill derived fields before saving: HTML, slug, excerpt, and the publish time.

    A published post without a time is published now; a future time schedules it.
    """
    post.body_html = render_post(post.body_md)
    if not post.slug:
        post.slug = _unique_slug(post.title, exclude_pk=post.pk)
    if not post.excerpt.strip():
        post.excerpt = _excerpt_from(post.body_html)
    if post.status == Post.Status.PUBLISHED and post.published_at is None:
        post.published_at = timezone.now()
    return post


def post_save(*, post: Post, tags: list[Any] | None = None) -> Post:
    post_prepare(post=post)
    with transaction.atomic():
        post.save()
        if tags is not None:
            post.tags.set(tags)
    return post


def post_publish(*, post: Post, at: datetime | None = None) -> Post:
    """Publish now, or schedule for `at`."""
    post.status = Post.Status.PUBLISHED
    post.published_at = at or timezone.now()
    return post_save(post=post)


def _trusted(author: Any) -> bool:
    """The auto-approve rule: staff, readers marked trusted, or readers with enough approved
    comments and none marked spam (BLOG_COMMENT_TRUST_AFTER; 0 turns the count rule off)."""
    if author.is_staff:
        return True
    profile = getattr(author, "profile", None)
    if profile is not None and profile.trusted:
        return True
    after = int(getattr(settings, "BLOG_COMMENT_TRUST_AFTER", 3))
    if after <= 0:
        return False
    mine = Comment.objects.filter(author=author)
    if mine.filter(status=Comment.Status.SPAM).exists():
        return False
    return mine.filter(status=Comment.Status.APPROVED).count() >= after


def comment_create(*, post: Post, author: Any, body: str) -> Comment:
    """Accept a reader's comment: pending, or approved at once for trusted readers.

    Raises CommentRejected (400 empty/too long, 403 not allowed, 404 unpublished post, 429
    rate limited). Live events are sent after commit.
    """
    if not (getattr(author, "is_authenticated", False) and author.is_active):
        raise CommentRejected("Sign in to comment.", 403)
    if not post.is_public:
        raise CommentRejected("This post does not exist.", 404)
    body = (body or "").strip()
    if not body:
        raise CommentRejected("The comment is empty.")
    if len(body) > COMMENT_MAX_CHARS:
        raise CommentRejected(f"Comments are limited to {COMMENT_MAX_CHARS} characters.")
    html = render_comment(body)
    if not strip_tags(html).strip():
        raise CommentRejected("The comment is empty.")
    for name, (limit, window) in (("m", COMMENTS_PER_MINUTE), ("h", COMMENTS_PER_HOUR)):
        if not ratelimit.hit(f"comment-{name}:{author.pk}", limit=limit, window_s=window):
            raise CommentRejected("You are commenting too fast. Wait a minute.", 429)
    approved = _trusted(author)
    now = timezone.now()
    with transaction.atomic():
        comment = Comment.objects.create(
            post=post,
            author_id=author.pk,  # request.user is a lazy proxy the ORM will not take as-is
            body_md=body,
            body_html=html,
            status=Comment.Status.APPROVED if approved else Comment.Status.PENDING,
            moderated_at=now if approved else None,
        )
        if approved:
            transaction.on_commit(lambda: live.comment_approved(comment.pk))
        else:
            transaction.on_commit(lambda: live.comment_pending(comment.pk))
    return comment


def comment_moderate(*, comment: Comment, status: str, by: Any) -> Comment:
    """Approve, reject or mark as spam. Approving publishes the comment live to readers."""
    if status not in Comment.Status.values or status == Comment.Status.PENDING:
        raise ValueError(f"cannot moderate to {status!r}")
    was = comment.status
    with transaction.atomic():
        Comment.objects.filter(pk=comment.pk).update(
            status=status, moderated_at=timezone.now(), moderated_by_id=getattr(by, "pk", None)
        )
        comment.status = status
        if status == Comment.Status.APPROVED and was != Comment.Status.APPROVED:
            transaction.on_commit(lambda: live.comment_approved(comment.pk))
        elif was == Comment.Status.APPROVED and status != Comment.Status.APPROVED:
            transaction.on_commit(lambda: live.comment_withdrawn(comment.pk, comment.post_id))
    return comment


def comments_purge_rejected(*, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete rejected and spam comments after a while (for a cron job)."""
    cutoff = timezone.now() - older_than
    deleted, _ = Comment.objects.filter(
        status__in=[Comment.Status.REJECTED, Comment.Status.SPAM], moderated_at__lt=cutoff
    ).delete()
    return deleted
