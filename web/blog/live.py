"""Live events for comments (core NATS via web.live.publish; see contract.md).

- `events.comments.post_<id>`: approved comments, to every reader of that post (public
  channel, allowed only for published posts; see channels.py).
- `events.alerts.comments`: comments waiting for moderation, to staff in the admin.
Payloads carry rendered, sanitised HTML so every browser shows the same thing the page does.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from web.blog.fragments import comment_html

ALERT_SUBJECT = "events.alerts.comments"


def post_subject(post_id: int) -> str:
    return f"events.comments.post_{post_id}"


def post_channel(post_id: int) -> str:
    """The browser-facing channel name of a post's comments."""
    return f"comments.post_{post_id}"


def _publish(subject: str, data: dict[str, Any], *, id: str) -> None:
    # Live delivery is best effort: the comment is committed and shows on reload. Imported
    # here, as before, so importing the blog's services does not load the NATS client.
    from web.live.publish import publish_best_effort

    publish_best_effort(subject, data, id=id)


def comment_payload(comment: Any) -> dict[str, Any]:
    return {
        "type": "comment.approved",
        "id": comment.pk,
        "post_id": comment.post_id,
        "html": comment_html(
            id=comment.pk,
            name=getattr(getattr(comment.author, "profile", None), "display_name", ""),
            created_at=comment.created_at,
            body_html=comment.body_html,
        ),
    }


def comment_approved(comment_id: int) -> None:
    from web.blog.models import Comment

    comment = Comment.objects.select_related("author__profile").filter(pk=comment_id).first()
    if comment is None or comment.status != Comment.Status.APPROVED:
        return
    _publish(post_subject(comment.post_id), comment_payload(comment), id=f"comment-{comment.pk}")


def comment_withdrawn(comment_id: int, post_id: int) -> None:
    _publish(
        post_subject(post_id),
        {"type": "comment.withdrawn", "id": comment_id, "post_id": post_id},
        id=f"comment-{comment_id}-withdrawn",
    )


def comment_pending(comment_id: int) -> None:
    from web.blog.models import Comment

    comment = Comment.objects.select_related("post", "author").filter(pk=comment_id).first()
    if comment is None:
        return
    _publish(
        ALERT_SUBJECT,
        {
            "type": "comment.pending",
            "id": comment.pk,
            "post_id": comment.post_id,
            "post_title": comment.post.title,
            "author": comment.author.get_username(),
            "text": comment.body_md[:200],
            "url": reverse("admin:blog_comment_change", args=[comment.pk]),
        },
        id=f"comment-{comment.pk}-pending",
    )
