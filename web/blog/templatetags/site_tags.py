"""Site-wide template tags: the analytics tracker for site 1."""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
log = logging.getLogger(__name__)


SITE_ID = 1
_KEY_TTL_S = 60.0
_key_cache: tuple[float, str | None] = (0.0, None)


def _site1_key() -> str | None:
    """Public key of site 1 (the blog itself), cached for a minute per process."""
    global _key_cache
    now = time.monotonic()
    if now - _key_cache[0] < _KEY_TTL_S:
        return _key_cache[1]
    try:
        from web.analytics.models import Site

        key = Site.objects.filter(pk=SITE_ID).values_list("public_key", flat=True).first()
    except Exception:
        log.exception("cannot read site %s for the tracker", SITE_ID)
        key = None
    _key_cache = (now, key)
    return key


def _script_tag_func() -> Any:
    """web.ingest.tracker.script_tag if the ingest app provides it (lazy import).

    Fallback: the ingest app's documented `snippet(site_key)` for site 1. None when the
    module has neither, and the page renders without a tracker.
    """
    from web.ingest import tracker as module

    func = getattr(module, "script_tag", None)
    if func is not None:
        return func
    snippet = getattr(module, "snippet", None)
    if snippet is None:
        return None

    def from_snippet() -> str:
        key = _site1_key()
        return snippet(key) if key else ""

    return from_snippet


@register.simple_tag(takes_context=True)
def tracker(context: template.Context) -> SafeString:
    """The tracker <script> for site 1, or nothing when ingest does not provide one.

    Passes `request` and `nonce` (the CSP nonce) when script_tag accepts them.
    """
    func = _script_tag_func()
    if func is None:
        return mark_safe("")
    kwargs: dict[str, Any] = {}
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        params = {}
    request = context.get("request")
    if "request" in params:
        kwargs["request"] = request
    if "nonce" in params:
        kwargs["nonce"] = str(context.get("csp_nonce", ""))
    if "site_id" in params:
        kwargs["site_id"] = 1
    try:
        return mark_safe(str(func(**kwargs)))
    except Exception:  # the page must render even if the tracker is broken
        log.exception("tracker script_tag failed")
        return mark_safe("")
