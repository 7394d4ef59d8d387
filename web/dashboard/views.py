"""Dashboard HTML views (staff and public links). Thin: parse, call selectors, render."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from web.analytics.models import Issue, Site
from web.dashboard import panels as P
from web.dashboard import selectors as sel
from web.dashboard.models import Funnel, PublicLink
from web.dashboard.querying import parse_whole

RANGE_LABELS = [
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("month", "This month"),
    ("year", "This year"),
]
FILTER_LABELS = {
    "page": "Page", "entry": "Entry page", "exit": "Exit page", "source": "Source",
    "medium": "Medium", "referrer": "Referrer", "utm_source": "UTM source",
    "utm_medium": "UTM medium", "utm_campaign": "UTM campaign", "country": "Country",
    "device": "Device", "browser": "Browser", "os": "OS", "event": "Event", "goal": "Goal",
}  # fmt: skip


# A download filename is built from these characters only: anything else in a part (an event
# name comes from the query string, even on a public link) could end the quoted filename
# and add parameters, or break the header with a line break.
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FILENAME_STEM = 80
MAX_EVENT_NAME = 500  # as a filter value


def download_name(*parts: object, ext: str) -> str:
    """``part1-part2….ext`` from [A-Za-z0-9._-] only: other runs become ``_``, each part is
    stripped of leading and trailing ``._-``, empty parts are dropped and the stem is cut to
    MAX_FILENAME_STEM characters (``export`` when nothing is left)."""
    cleaned = (_UNSAFE_FILENAME.sub("_", str(p)).strip("._-") for p in parts)
    stem = "-".join(p for p in cleaned if p)[:MAX_FILENAME_STEM].rstrip("._-")
    return f"{stem or 'export'}.{ext}"


def _attachment(resp: HttpResponse, *parts: object, ext: str) -> HttpResponse:
    resp["Content-Disposition"] = f'attachment; filename="{download_name(*parts, ext=ext)}"'
    return resp


def _filter_label(key: str) -> str:
    if key.startswith("prop:"):
        return f"Property {key[5:]}"
    return FILTER_LABELS.get(key, key)


def _qs(params: dict[str, str]) -> str:
    return "?" + urlencode(params, safe=":")  # prop:<key> filters stay readable


def _query(request: HttpRequest, site: Site) -> sel.Query:
    return sel.parse_query(site.pk, request.GET)


def _page_context(request: HttpRequest, site: Site, q: sel.Query, base: str) -> dict[str, Any]:
    compare = request.GET.get("compare") == "previous"
    extra = {"compare": "previous"} if compare else {}
    params = {**q.params(), **extra}
    return {
        "site": site,
        "q": q,
        "base": base,
        "qs": _qs(params),
        "compare": compare,
        "compare_toggle": _qs({**q.params(), **({} if compare else {"compare": "previous"})}),
        "ranges": [
            (key, label, _qs({**q.params(range=key, **{"from": None, "to": None}), **extra}))
            for key, label in RANGE_LABELS
        ],
        "filters": [
            (_filter_label(k), v, _qs({**q.params(**{k: None}), **extra}))
            for k, v in q.filters.items()
        ],
        "panels": [
            ("pages", "Pages", ["pages", "entry", "exit"]),
            ("sources", "Sources", ["sources", "referrers"]),
            ("utm", "Campaigns", ["utm_source", "utm_medium", "utm_campaign"]),
            ("countries", "Countries", ["countries"]),
            ("devices", "Devices", ["devices", "browsers", "os"]),
            ("events", "Custom events", ["events"]),
            ("goals", "Goals", ["goals"]),
            ("funnels", "Funnels", ["funnels"]),
        ],
        "titles": {k: v[1] for k, v in P.BREAKDOWNS.items()},
        "custom_from": q.start.date().isoformat() if q.range == "custom" else "",
        "custom_to": (q.end - sel.DAY).date().isoformat() if q.range == "custom" else "",
    }


@staff_member_required
def index(request: HttpRequest) -> HttpResponse:
    site = Site.objects.order_by("pk").first()
    if site is None:
        raise Http404("no sites yet: add one in the admin")
    return redirect("dashboard:site", site_id=site.pk)


@staff_member_required
def site_dashboard(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_object_or_404(Site, pk=site_id)
    try:
        q = _query(request, site)
    except sel.QueryError as exc:
        return HttpResponseBadRequest(str(exc))
    ctx = _page_context(request, site, q, f"/dashboard/{site.pk}")
    ctx["sites"] = [(s, s.pk == site.pk) for s in Site.objects.order_by("pk")]
    ctx["staff"] = True
    return render(request, "dashboard/dashboard.html", ctx)


def _compare_extra(request: HttpRequest) -> dict[str, str]:
    return {"compare": "previous"} if request.GET.get("compare") == "previous" else {}


def _props_panel(request: HttpRequest, q: sel.Query, site: Site, base: str) -> HttpResponse:
    """The property values of one custom event (opened from the events panel): a value
    applies ``prop:<key>=<value>``, a key opens the details view of all its values."""
    event = request.GET.get("name", "")
    if len(event) > MAX_EVENT_NAME:
        raise sel.QueryError(f"name is longer than {MAX_EVENT_NAME} characters")
    rows = sel.event_props(q, event)
    if request.GET.get("format") == "csv":
        return _csv(rows, site.pk, "props", event)
    extra = _compare_extra(request)
    items = [
        {
            **r,
            "href": f"{base}/" + _qs({**q.params(**{f"prop:{r['prop']}": r["value"]}), **extra}),
            "details": f"{base}/details/props/" + _qs({**q.params(), "key": r["prop"], **extra}),
        }
        for r in rows
    ]
    ctx = {"rows": items, "event": event, "note": sel.history_note(q, "props")}
    return render(request, "dashboard/_props.html", ctx)


def _panel(request: HttpRequest, site: Site, name: str, base: str) -> HttpResponse:
    """One panel as an HTML fragment (or CSV): its own request, so that no panel waits for
    another (ADR D-3). ``base`` is the dashboard's URL prefix (staff or public link)."""
    try:
        q = _query(request, site)
        fmt = request.GET.get("format", "html")
        if name == "props":
            return _props_panel(request, q, site, base)
        # Countries: one query serves both the map (all countries) and the top-10 table.
        limit = 1000 if fmt == "csv" else 300 if name == "countries" else 10
        rows = P.panel_rows(name, q, limit=limit)
    except sel.QueryError as exc:
        return HttpResponseBadRequest(str(exc))
    if fmt == "csv":
        return _csv(rows, site.pk, name, q.range)
    ctx: dict[str, Any] = {"rows": rows, "name": name, "q": q, "site": site}
    ctx["note"] = sel.history_note(q, None if name in ("top", "chart") else name)
    compare = request.GET.get("compare") == "previous"
    if name == "top":
        prev = sel.top_stats(q.previous()) if compare else {}
        ctx["stats"] = [
            (k, r["value"], sel.compare({k: r["value"]}, prev)[k]["change"] if compare else None)
            for k, r in ((r["metric"], r) for r in rows)
        ]
        ctx["multi_day"] = q.days > 1
        return render(request, "dashboard/_top.html", ctx)
    if name == "chart":
        ctx["series"] = {
            "t": [r["t"] for r in rows],
            "visitors": [r["visitors"] for r in rows],
            "pageviews": [r["pageviews"] for r in rows],
            "previous": [r["visitors"] for r in sel.timeseries(q.previous())] if compare else [],
            "interval": q.interval,
        }
        return render(request, "dashboard/_chart.html", ctx)
    if name == "funnels":
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r["funnel"], []).append(r)
        ctx["funnels"] = groups
        ctx["defined"] = Funnel.objects.filter(site=site).exists()
        return render(request, "dashboard/_funnels.html", ctx)
    dim = P.BREAKDOWNS[name][0]
    if name == "countries":
        ctx["map"] = P.world_map(rows)
        ctx["viewbox"] = P.world()["viewBox"]
        rows = rows[:10]
    top = max((r["visitors"] or r["pageviews"] or r["events"] for r in rows), default=0)
    ctx.update(
        dim=dim,
        title=P.BREAKDOWNS[name][1],
        details=f"{base}/details/{name}/" + _qs({**q.params(), **_compare_extra(request)}),
        items=[
            {
                **r,
                "share": round(100 * (r["visitors"] or r["pageviews"] or r["events"]) / top)
                if top
                else 0,
                "href": _qs({**q.params(**{dim: r["value"]}), **_compare_extra(request)}),
            }
            for r in rows
        ],
    )
    return render(request, "dashboard/_breakdown.html", ctx)


def _csv(rows: list[dict[str, Any]], *name_parts: object) -> HttpResponse:
    resp = HttpResponse(P.to_csv(rows), content_type="text/csv; charset=utf-8")
    return _attachment(resp, *name_parts, ext="csv")


@staff_member_required
def panel(request: HttpRequest, site_id: int, name: str) -> HttpResponse:
    return _panel(request, get_object_or_404(Site, pk=site_id), name, f"/dashboard/{site_id}")


MAX_OFFSET = 10**9 - 1


def _offset(raw: str) -> int:
    offset = parse_whole(raw, lo=0, hi=MAX_OFFSET)
    if offset is None:
        raise sel.QueryError(f"offset must be a whole number of rows, 0 to {MAX_OFFSET}")
    return offset


def _details(request: HttpRequest, site: Site, name: str, base: str) -> HttpResponse:
    """Every value of one breakdown (Plausible's details modal as a page): search
    (case-insensitive substring), 100 rows a page, the panel's metrics as columns. The URL
    carries the range, filters, search and offset; a value links to the dashboard with it
    as a filter."""
    try:
        q = _query(request, site)
        key = request.GET.get("key", "")
        dim, title, filter_param = P.details_target(name, key)
        search = request.GET.get("search", "").strip()
        if len(search) > P.MAX_SEARCH:
            raise sel.QueryError(f"search is longer than {P.MAX_SEARCH} characters")
        offset = _offset(request.GET.get("offset", "0"))
        size = P.DETAILS_PAGE_SIZE
        rows, more = P.breakdown_page(q, dim, limit=size, offset=offset, search=search)
        note = sel.history_note(q, dim)
    except sel.QueryError as exc:
        return HttpResponseBadRequest(str(exc))
    extra = _compare_extra(request)
    own = {**({"key": key.strip()} if name == "props" else {}), **extra}
    here = f"{base}/details/{name}/"

    def page_href(at: int) -> str:
        return here + _qs({**q.params(), **own, **({"search": search} if search else {}),
                           **({"offset": str(at)} if at else {})})  # fmt: skip

    columns = P.detail_columns(dim)
    lead = columns[0][0]  # the bar shows the first metric, against this page's largest
    top = max((r.get(lead) or 0 for r in rows), default=0)
    ctx = {
        "site": site,
        "q": q,
        "staff": base.startswith("/dashboard/"),
        "name": name,
        "title": title,
        "dim": filter_param,
        "search": search,
        "note": note,
        "columns": [label for _, label, _ in columns],
        "rows": [
            {
                "value": r["value"],
                "href": f"{base}/" + _qs({**q.params(**{filter_param: r["value"]}), **extra}),
                "cells": [P.fmt_cell(r.get(k), kind) for k, _, kind in columns],
                "share": round(100 * (r.get(lead) or 0) / top) if top else 0,
            }
            for r in rows
        ],
        "first": offset + 1,
        "last": offset + len(rows),
        "prev": page_href(max(0, offset - size)) if offset else "",
        "next": page_href(offset + size) if more else "",
        "back": f"{base}/" + _qs({**q.params(), **extra}),
        "action": here,
        "hidden": list({**q.params(), **own}.items()),
        "filters": [
            (_filter_label(k), v, here + _qs({**q.params(**{k: None}), **own}))
            for k, v in q.filters.items()
        ],
        "range_label": dict(RANGE_LABELS).get(q.range, "Custom range"),
    }
    return render(request, "dashboard/details.html", ctx)


@staff_member_required
def details(request: HttpRequest, site_id: int, name: str) -> HttpResponse:
    return _details(request, get_object_or_404(Site, pk=site_id), name, f"/dashboard/{site_id}")


@staff_member_required
def export_zip(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_object_or_404(Site, pk=site_id)
    try:
        q = _query(request, site)
    except sel.QueryError as exc:
        return HttpResponseBadRequest(str(exc))
    resp = HttpResponse(P.zip_all(q), content_type="application/zip")
    return _attachment(resp, f"site{site.pk}", q.range, ext="zip")


@staff_member_required
def realtime(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_object_or_404(Site, pk=site_id)
    return render(request, "dashboard/realtime.html", _realtime_ctx(site, staff=True))


def _realtime_ctx(site: Site, *, staff: bool) -> dict[str, Any]:
    channel = f"metrics.views.{site.pk}"
    sse = "/live/admin/events/" if staff else "/live/events/"
    return {
        "site": site,
        "snapshot": sel.realtime_snapshot(site.pk),
        "sse_url": f"{sse}?{urlencode({'channel': channel})}",
        "map": P.world_map([]),
        "viewbox": P.world()["viewBox"],
        "centroids": P.centroids(),
        "staff": staff,
    }


# --- errors ---------------------------------------------------------------------------------


@staff_member_required
def issues(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_object_or_404(Site, pk=site_id)
    search = request.GET.get("q", "")[:200]
    status = request.GET.get("status", "open")
    if status not in ("", *Issue.Status.values):
        return HttpResponseBadRequest("status must be open, resolved, ignored or empty")
    rows = sel.issues_search(site.pk, search=search, status=status)
    return render(
        request,
        "dashboard/issues.html",
        {"site": site, "issues": rows, "search": search, "status": status, "staff": True},
    )


@staff_member_required
def issue(request: HttpRequest, site_id: int, issue_id: int) -> HttpResponse:
    site = get_object_or_404(Site, pk=site_id)
    try:
        detail = sel.issue_detail(issue_id)
    except Issue.DoesNotExist as exc:
        raise Http404("no such issue") from exc
    if detail["issue"].site_id != site.pk:
        raise Http404("no such issue")
    detail["series_json"] = {
        "t": [p["t"] + "T00:00:00Z" for p in detail["series"]],
        "events": [p["events"] for p in detail["series"]],
    }
    return render(request, "dashboard/issue.html", {"site": site, "staff": True, **detail})


@staff_member_required
@require_POST
def issue_status(request: HttpRequest, site_id: int, issue_id: int) -> HttpResponse:
    from web.analytics.services import issue_set_status

    get_object_or_404(Issue, pk=issue_id, site_id=site_id)
    try:
        issue_set_status(issue_id=issue_id, status=request.POST.get("status", ""))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    return redirect("dashboard:issue", site_id=site_id, issue_id=issue_id)


# --- status ---------------------------------------------------------------------------------


@staff_member_required
def status(request: HttpRequest) -> HttpResponse:
    from web.dashboard.models import AlertState

    ctx = sel.status_overview()
    ctx["alerts"] = list(AlertState.objects.order_by("-last_sent_at")[:20])
    ctx["staff"] = True
    return render(request, "dashboard/status.html", ctx)


# --- public links ---------------------------------------------------------------------------


def _shared_site(key: str) -> Site:
    link = PublicLink.objects.select_related("site").filter(key=key, revoked_at=None).first()
    if link is None:
        raise Http404("this link does not exist or was revoked")
    return link.site


def share(request: HttpRequest, key: str) -> HttpResponse:
    site = _shared_site(key)
    try:
        q = _query(request, site)
    except sel.QueryError as exc:
        return HttpResponseBadRequest(str(exc))
    ctx = _page_context(request, site, q, f"/share/{key}")
    ctx["staff"] = False
    return render(request, "dashboard/dashboard.html", ctx)


def share_panel(request: HttpRequest, key: str, name: str) -> HttpResponse:
    return _panel(request, _shared_site(key), name, f"/share/{key}")


def share_details(request: HttpRequest, key: str, name: str) -> HttpResponse:
    return _details(request, _shared_site(key), name, f"/share/{key}")


def share_realtime(request: HttpRequest, key: str) -> HttpResponse:
    return render(request, "dashboard/realtime.html", _realtime_ctx(_shared_site(key), staff=False))
