"""HTML fragments built in Python where the template engine is the bottleneck.

A post page renders up to hundreds of comments; one format_html per comment is several times
faster than a template include per comment (bench/pages.py). The same function renders the
live event payload, so a comment that arrives live looks exactly like one on reload.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

DEFAULT_NAME = "Reader"


def comment_html(*, id: int, name: str | None, created_at: datetime, body_html: str) -> SafeString:
    """One <li> of the comment list. `body_html` must already be sanitised (render_comment)."""
    local = timezone.localtime(created_at)
    cid = int(id)
    # Only `name` is untrusted text here; ids, ISO dates and the date label cannot hold markup.
    return mark_safe(
        f'<li class="comment" id="comment-{cid}" data-comment-id="{cid}"><p class="meta">'
        f"<strong>{escape(name or DEFAULT_NAME)}</strong> · "
        f'<time datetime="{local.isoformat()}">{local.day} {local:%b %Y, %H:%M}</time></p>'
        f'<div class="body">{body_html}</div></li>'
    )


def comments_html(rows: list[dict]) -> SafeString:
    """The whole list from `selectors.comments_visible` rows."""
    return mark_safe(
        "".join(
            comment_html(
                id=r["id"],
                name=r["author__profile__display_name"],
                created_at=r["created_at"],
                body_html=r["body_html"],
            )
            for r in rows
        )
    )
