"""Operational HTTP endpoints."""

from __future__ import annotations

import asyncio
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST

from web.core.health import check_all
from web.messaging import views as messaging_views
from web.messaging.metrics import render as metrics_render


async def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every component is ok, 503 otherwise; the body says which one failed."""
    results = await asyncio.to_thread(check_all, settings.ENV)
    ok = all(r.ok for r in results)
    body = {
        "status": "ok" if ok else "degraded",
        "components": {r.name: r.as_dict() for r in results},
    }
    return JsonResponse(body, status=200 if ok else 503)


def _bearer_ok(request: HttpRequest, token: str) -> bool:
    """True when `Authorization: Bearer <token>` matches a configured (non-empty) token."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def metrics(request: HttpRequest) -> HttpResponse:
    """/metrics (Prometheus text). Production: a staff session, or the bearer token
    HEARTH_METRICS_TOKEN; a client's address proves nothing there, since any process on the
    box (or a proxy that does not add X-Forwarded-For) connects from localhost. Dev keeps
    web.messaging's rule: staff, or a localhost client that was not forwarded.

    Routed here, ahead of web/messaging/urls.py, so this check is the one that applies."""
    env = settings.ENV
    if not env.production:
        return messaging_views.metrics(request)
    user = getattr(request, "user", None)
    staff = bool(user is not None and user.is_active and user.is_staff)
    if not (staff or _bearer_ok(request, env.metrics_token)):
        return HttpResponse(
            "metrics need a staff session or the bearer token (HEARTH_METRICS_TOKEN)\n",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_LATEST)
