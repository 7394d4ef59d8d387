"""Stats API v1: aggregate, timeseries, breakdown (paged, searchable, also custom event
properties), funnel; the same range and filter parameters as the UI; bearer tokens.

Errors are JSON ``{"error": "..."}`` with 400 (bad parameter), 401 (no/unknown/revoked
token), 403 (site outside the token's scope), 405 and 429 (with Retry-After)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from web.analytics.timefmt import iso_z
from web.dashboard import panels as P
from web.dashboard import selectors as sel
from web.dashboard.models import ApiToken
from web.dashboard.openapi import document
from web.dashboard.querying import MAX_ID, MAX_OFFSET, parse_whole
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
    site_id = parse_whole(request.GET.get("site_id", ""), lo=1, hi=MAX_ID)
    if site_id is None:
        raise ApiError(400, f"site_id is required and must be a whole number between 1 and "
                            f"{MAX_ID}")  # fmt: skip
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


def _envelope(q: sel.Query, results: Any, panel: str | None = None) -> dict[str, Any]:
    return {
        "site_id": q.site_id,
        "range": {
            "name": q.range,
            "start": iso_z(q.start),
            "end": iso_z(q.end),
            "interval": q.interval,
        },
        "filters": dict(q.filters),
        # '' when the figures cover the whole range, else which part of it they cover.
        "note": sel.history_note(q, panel),
        "results": results,
    }


def _error(exc: ApiError) -> JsonResponse:
    resp = JsonResponse({"error": str(exc)}, status=exc.status)
    for k, v in exc.headers.items():
        resp[k] = v
    if exc.status == 401:
        resp["WWW-Authenticate"] = 'Bearer realm="hearth"'
    return resp


def _only_get(request: HttpRequest) -> None:
    if request.method != "GET":
        raise ApiError(405, f"{request.method} is not allowed here: use GET", {"Allow": "GET"})


def _endpoint(
    fn: Callable[[HttpRequest, sel.Query], dict[str, Any]],
) -> Callable[[HttpRequest], JsonResponse]:
    # csrf_exempt: these are read-only GET APIs authenticated by a bearer token, never by a
    # cookie, so CSRF does not apply; without it CsrfViewMiddleware answered a POST with
    # its HTML 403 page before the view could send the documented JSON 405.
    @csrf_exempt
    def view(request: HttpRequest) -> JsonResponse:
        try:
            _only_get(request)
            token = _authenticate(request)
            return JsonResponse(fn(request, _query(request, token)))
        except ApiError as exc:
            return _error(exc)
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


MAX_LIMIT = sel.MAX_LIMIT  # also in the OpenAPI document
MAX_SEARCH = 200
PROP_PREFIX = sel.PROP_DIM  # "props:"
# The row keys of a custom event property's breakdown (the other metrics do not apply).
PROP_ROW = ("value", "visitors", "visits", "events")
MAX_STEPS = sel.MAX_STEPS


def _whole(request: HttpRequest, name: str, default: int, lo: int, hi: int) -> int:
    value = parse_whole(request.GET.get(name, str(default)).strip(), lo=lo, hi=hi)
    if value is None:
        raise ApiError(400, f"{name} must be a whole number between {lo} and {hi}")
    return value


def _property(request: HttpRequest) -> str:
    prop = request.GET.get("property", "").strip()
    dims = ", ".join(sel.BREAKDOWN_DIMS)
    if not prop:
        raise ApiError(400, f"property is required: one of {dims}, or props:<name>")
    if prop.startswith(PROP_PREFIX):
        if not prop[len(PROP_PREFIX) :].strip():
            raise ApiError(400, "property props:<name> needs a property name, e.g. props:plan")
    elif prop not in sel.BREAKDOWN_DIMS:
        raise ApiError(400, f"unknown dimension {prop!r} for property; use one of {dims}, "
                            "or props:<name>")  # fmt: skip
    return prop


@_endpoint
def breakdown(request: HttpRequest, q: sel.Query) -> dict[str, Any]:
    """Rows of one dimension (or ``props:<name>``), ordered as the panels are, paged by
    ``limit``/``offset`` and narrowed by ``search`` (case-insensitive substring).
    ``paging.next_offset`` is the offset of the next page, or null after the last one."""
    prop = _property(request)
    limit = _whole(request, "limit", 10, 1, MAX_LIMIT)
    offset = _whole(request, "offset", 0, 0, MAX_OFFSET)
    search = request.GET.get("search", "").strip()
    if len(search) > MAX_SEARCH:
        raise ApiError(400, f"search must be at most {MAX_SEARCH} characters")
    rows, more = P.breakdown_page(q, prop, limit=limit, offset=offset, search=search)
    if prop.startswith(PROP_PREFIX):
        rows = [{k: r[k] for k in PROP_ROW} for r in rows]
    out = _envelope(q, rows, prop)
    out["property"] = prop
    out["paging"] = {
        "limit": limit,
        "offset": offset,
        "search": search,
        "next_offset": offset + limit if more else None,
    }
    return out


def _steps(request: HttpRequest) -> list[str]:
    """Comma-separated steps; each is checked by the selector (goals.step_spec), which
    names the bad one (QueryError -> 400)."""
    raw = request.GET.get("steps", "")
    steps = [s.strip() for s in raw.split(",") if s.strip()]
    if not 2 <= len(steps) <= MAX_STEPS:
        raise ApiError(400, f"steps must list 2 to {MAX_STEPS} comma-separated steps: page "
                            "paths (/pricing, /blog/*) or event:<name>")  # fmt: skip
    return steps


@_endpoint
def funnel(request: HttpRequest, q: sel.Query) -> dict[str, Any]:
    """Visits of the range (under the filters) reaching each step in order."""
    steps = _steps(request)
    out = _envelope(q, sel.funnel(q, steps), "funnel")
    out["steps"] = steps
    return out


@csrf_exempt  # public, read-only, no cookie: see _endpoint
def openapi(request: HttpRequest) -> JsonResponse:
    try:
        _only_get(request)
    except ApiError as exc:
        return _error(exc)
    return JsonResponse(document())
