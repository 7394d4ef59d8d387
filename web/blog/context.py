"""Template context for the public site."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    return {
        "site_name": getattr(settings, "BLOG_SITE_NAME", "Hearth"),
        "site_description": getattr(settings, "BLOG_SITE_DESCRIPTION", ""),
    }
