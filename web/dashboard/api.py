"""Stats API v1: aggregate, timeseries, breakdown (same filters as the UI), bearer tokens.

Errors are JSON ``{"error": "..."}`` with 400 (bad parameter), 401 (no/unknown/revoked
token), 403 (site outside the token's scope), 405 and 429 (with Retry-After)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from web.dashboard import selectors as sel
from web.dashboard.models import ApiToken
from web.dashboard.openapi import document
from web.dashboard.services import RateLimited, rate_hit, token_digest


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def _authenticate(request: HttpRequest) -> ApiToken:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(401, "missing bearer token: send 'Authorization: Bearer <token>'")
    token = ApiToken.objects.filter(digest=token_digest(raw.strip())).first()
    if token is None:
        raise ApiError(401, "unknown token")
    if token.revoked_at is not None:
        raise ApiError(401, "this token was revoked")
    return token


def _query(request: HttpRequest, token: ApiToken) -> sel.Query:
    raw_site = request.GET.get("site_id", "")
    if not raw_site.isdigit():
        raise ApiError(400, "site_id is required and must be a whole number")
    site_id = int(raw_site)
    if not token.sites.filter(pk=site_id).exists():
        raise ApiError(403, f"this token has no access to site {site_id}")
    try:
        rate_hit(key=f"api:{token.pk}", limit=token.rate_per_minute)
    except RateLimited as exc:
        raise ApiError(429, str(exc), {"Retry-After": str(exc.retry_after)}) from exc
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    try:
        return sel.parse_query(site_id, request.GET)
    except sel.QueryError as exc:
        raise ApiError(400, str(exc)) from exc


def _envelope(q: sel.Query, results: Any) -> dict[str, Any]:
    return {
        "site_id": q.site_id,
        "range": {
            "name": q.range,
            "start": q.start.isoformat().replace("+00:00", "Z"),
            "end": q.end.isoformat().replace("+00:00", "Z"),
            "interval": q.interval,
        },
        "filters": dict(q.filters),
        "results": results,
    }


def _endpoint(
    fn: Callable[[HttpRequest, sel.Query], dict[str, Any]],
) -> Callable[[HttpRequest], JsonResponse]:
    def view(request: HttpRequest) -> JsonResponse:
        try:
            if request.method != "GET":
                raise ApiError(405, "use GET", {"Allow": "GET"})
            token = _authenticate(request)
            return JsonResponse(fn(request, _query(request, token)))
        except ApiError as exc:
            resp = JsonResponse({"error": str(exc)}, status=exc.status)
            for k, v in exc.headers.items():
                resp[k] = v
            if exc.status == 401:
                resp["WWW-Authenticate"] = 'Bearer realm="hearth"'
            return resp
        except sel.QueryError as exc:
            return JsonResponse({"error": str(exc)}, status=400)

    view.__name__ = fn.__name__
    return view


@_endpoint
def aggregate(request: HttpRequest, q: sel.Query) -> dict[str, Any]:
    stats = sel.top_stats(q)
    out = _envelope(q, stats)
    if request.GET.get("compare") == "previous":
        prev = sel.top_stats(q.previous())
        out["previous"] = prev
        out["change"] = {k: v["change"] for k, v in sel.compare(stats, prev).items()}
    elif request.GET.get("compare"):
        raise ApiError(400, "compare must be 'previous'")
    return out


@_endpoint
def timeseries(request: HttpRequest, q: sel.Query) -> dict[str, Any]:
    return _envelope(q, sel.timeseries(q))


@_endpoint
def breakdown(request: HttpRequest, q: sel.Query) -> dict[str, Any]:
    prop = request.GET.get("property", "")
    raw_limit = request.GET.get("limit", "10")
    if not raw_limit.isdigit():
        raise ApiError(400, "limit must be a whole number between 1 and 1000")
    out = _envelope(q, sel.breakdown(q, prop, limit=int(raw_limit)))
    out["property"] = prop
    return out


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document())
