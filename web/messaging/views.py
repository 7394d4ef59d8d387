"""HTTP: /metrics in Prometheus text format, for staff or for scrapers on the box itself."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST

from web.messaging.metrics import render

LOCAL_ADDRESSES = frozenset({"127.0.0.1", "::1"})


def metrics(request: HttpRequest) -> HttpResponse:
    """Only staff or a client on localhost: queue sizes and error counts are internal."""
    user = getattr(request, "user", None)
    is_staff = bool(user is not None and user.is_authenticated and user.is_staff)
    # A reverse proxy on the box connects from 127.0.0.1 too; a forwarded request is remote.
    forwarded = "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META
    local = request.META.get("REMOTE_ADDR") in LOCAL_ADDRESSES and not forwarded
    if not is_staff and not local:
        return HttpResponse(
            "metrics are for staff or localhost only\n", status=403, content_type="text/plain"
        )
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
