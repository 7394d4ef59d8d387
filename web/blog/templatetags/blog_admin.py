"""Admin template tags for the blog: the moderation queue's size on the admin home."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def pending_comment_count() -> int:
    """Comments waiting for moderation (what the comment list shows by default)."""
    from web.blog.models import Comment

    return Comment.objects.filter(status=Comment.Status.PENDING).count()
