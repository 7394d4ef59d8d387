"""Site-wide template tags: the analytics tracker for site 1."""

from __future__ import annotations

import importlib
import inspect
import logging
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
log = logging.getLogger(__name__)


def _script_tag_func() -> Any:
    """web.ingest.tracker.script_tag if the ingest app provides it, else None (lazy import)."""
    try:
        module = importlib.import_module("web.ingest.tracker")
    except ImportError:
        return None
    return getattr(module, "script_tag", None)


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
