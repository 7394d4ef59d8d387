"""Operational HTTP endpoints."""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from web.core.health import check_all


async def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every component is ok, 503 otherwise; the body says which one failed."""
    results = await asyncio.to_thread(check_all, settings.ENV)
    ok = all(r.ok for r in results)
    body = {
        "status": "ok" if ok else "degraded",
        "components": {r.name: r.as_dict() for r in results},
    }
    return JsonResponse(body, status=200 if ok else 503)
