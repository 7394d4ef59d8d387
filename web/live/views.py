"""Admin live stream: django-eventstream behind an explicit 403 for anyone but staff."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django_eventstream.views import events

from web.live.channels import staff_can_read


def admin_events(request: HttpRequest) -> HttpResponse:
    """SSE for ``?channel=alerts.errors`` etc. django-eventstream answers a denied channel
    with 200 and a stream-error event; a browser or proxy should see a plain 403 instead."""
    channels = request.GET.getlist("channel")
    if not channels or len(channels) > 10:
        return JsonResponse({"error": "give 1 to 10 ?channel= parameters"}, status=400)
    denied = [c for c in channels if not staff_can_read(request.user, c)]
    if denied:
        return JsonResponse({"error": "forbidden", "channels": denied}, status=403)
    return events(request)
