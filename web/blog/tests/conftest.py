from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from web.blog import services
from web.blog.models import Post, Tag


@pytest.fixture
def make_post():  # type: ignore[no-untyped-def]
    """Create a post through the service (so HTML, slug and excerpt are derived)."""

    def make(title: str, *, status: str = "published", when: Any = None, **kw: Any) -> Post:
        tags = kw.pop("tags", None)
        post = Post(title=title, body_md=kw.pop("body_md", f"Body of *{title}*."), status=status)
        for k, v in kw.items():
            setattr(post, k, v)
        if status == "published":
            post.published_at = when or timezone.now() - timedelta(minutes=1)
        tag_objs = [Tag.objects.get_or_create(name=t, slug=t)[0] for t in tags] if tags else None
        return services.post_save(post=post, tags=tag_objs)

    return make
