"""Dashboard HTML views (staff and public links). Thin: parse, call selectors, render."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.utils.safestring import mark_safe
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


def _filter_value(key: str, value: str) -> str:
    """A filter chip's value as people read it: a country by its name."""
    return f"{P.country_name(value)} ({value})" if key == "country" else value


def _qs(params: dict[str, str]) -> str:
    return "?" + urlencode(params, safe=":")  # prop:<key> filters stay readable


def _query(request: HttpRequest, site: Site) -> sel.Query:
    return sel.parse_query(site.pk, request.GET)


COMPARE_LABELS = {"previous": "Previous period", "year": "Year before"}
# Parameters a dashboard URL may carry besides the filters (FILTER_DIMS and prop:<key>).
VIEW_PARAMS = frozenset({"range", "from", "to", "compare"})


def _compare_mode(request: HttpRequest) -> str:
    """'previous', 'year' or '' (no comparison); anything else is a QueryError."""
    mode = request.GET.get("compare", "")
    if mode and mode not in sel.COMPARE_MODES:
        raise sel.QueryError(
            f"compare={mode!r} is not a comparison: use compare=previous (the period before) "
            "or compare=year (the same days a year before), or leave it out"
        )
    return mode


def _check_params(request: HttpRequest) -> None:
    """A parameter the dashboard does not know (a mistyped filter such as ``contry``)
    would be ignored silently and the page would look filtered when it is not."""
    for key in request.GET:
        if key in VIEW_PARAMS or key in sel.FILTER_DIMS or key.startswith(sel.PROP_FILTER):
            continue
        raise sel.QueryError(
            f"unknown filter {key!r}: filters are {', '.join(sel.FILTER_DIMS)} or "
            "prop:<property>; remove it from the address or pick a filter from a panel"
        )


def _page_context(request: HttpRequest, site: Site, q: sel.Query, base: str) -> dict[str, Any]:
    mode = _compare_mode(request)
    extra = {"compare": mode} if mode else {}
    params = {**q.params(), **extra}
    compared = q.compared_so_far(mode, datetime.now(UTC)) if mode else None
    return {
        "site": site,
        "q": q,
        "base": base,
        "qs": _qs(params),
        "compare": mode,
        "compare_label": COMPARE_LABELS.get(mode, ""),
        "compared": compared,
        "compared_whole_end": q.compared(mode).end if mode else None,
        "compare_options": [
            (key, label, _qs({**q.params(), **({"compare": key} if key else {})}), key == mode)
            for key, label in [("", "Off"), *COMPARE_LABELS.items()]
        ],
        "ranges": [
            (key, label, _qs({**q.params(range=key, **{"from": None, "to": None}), **extra}))
            for key, label in RANGE_LABELS
        ],
        "filters": [
            (_filter_label(k), _filter_value(k, v), _qs({**q.params(**{k: None}), **extra}))
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


def _error_page(
    request: HttpRequest, site: Site | None, base: str, message: str, *, status: int, staff: bool
) -> HttpResponse:
    """A bad request shown inside the dashboard's own page: what is wrong, what to change,
    and links back to a view that works (issue 17, item 6)."""
    # Escaped, but with its quotes as typed: the message names the parameter to change.
    shown = mark_safe(escape(message).replace("&#x27;", "'"))
    ctx: dict[str, Any] = {"site": site, "base": base, "message": shown, "staff": staff}
    if site is not None:
        ctx["reset"] = f"{base}/"
        ctx["ranges"] = [(label, f"{base}/" + _qs({"range": key})) for key, label in RANGE_LABELS]
    ctx["sites"] = list(Site.objects.order_by("pk")) if staff else []
    ctx["nav_site"] = site or (ctx["sites"][0] if ctx["sites"] else None)
    return render(request, "dashboard/error.html", ctx, status=status)


def _not_found(request: HttpRequest, message: str, *, staff: bool = True) -> HttpResponse:
    return _error_page(request, None, "", message, status=404, staff=staff)


def _site_view(view: Any) -> Any:
    """Staff view of one site: an unknown site id is a 404 page in the dashboard's own
    layout listing the sites that exist, not a bare error."""

    @wraps(view)
    def wrapped(request: HttpRequest, site_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        site = Site.objects.filter(pk=site_id).first()
        if site is None:
            return _not_found(request, f"There is no site {site_id}.")
        return view(request, site, *args, **kwargs)

    return staff_member_required(wrapped)


@staff_member_required
def index(request: HttpRequest) -> HttpResponse:
    site = Site.objects.order_by("pk").first()
    if site is None:
        return _not_found(request, "There are no sites yet.")
    return redirect("dashboard:site", site_id=site.pk)


@_site_view
def site_dashboard(request: HttpRequest, site: Site) -> HttpResponse:
    base = f"/dashboard/{site.pk}"
    try:
        _check_params(request)
        q = _query(request, site)
        ctx = _page_context(request, site, q, base)
    except sel.QueryError as exc:
        return _error_page(request, site, base, str(exc), status=400, staff=True)
    ctx["sites"] = [(s, s.pk == site.pk) for s in Site.objects.order_by("pk")]
    ctx["staff"] = True
    return render(request, "dashboard/dashboard.html", ctx)


def _compare_extra(request: HttpRequest) -> dict[str, str]:
    mode = request.GET.get("compare", "")
    return {"compare": mode} if mode in sel.COMPARE_MODES else {}


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
    another (ADR-23). ``base`` is the dashboard's URL prefix (staff or public link)."""
    try:
        q = _query(request, site)
        fmt = request.GET.get("format", "html")
        if name == "props":
            return _props_panel(request, q, site, base)
        # Countries: one query serves both the map (all countries) and the top-10 table.
        limit = 1000 if fmt == "csv" else 300 if name == "countries" else 10
        if name == "chart" and fmt != "csv":  # the chart can plot every top stat
            rows = sel.timeseries(q, rates=True)
        else:
            rows = P.panel_rows(name, q, limit=limit)
    except sel.QueryError as exc:
        return HttpResponseBadRequest(str(exc))
    if fmt == "csv":
        return _csv(P.csv_rows(name, rows), site.pk, name, q.range)
    ctx: dict[str, Any] = {"rows": rows, "name": name, "q": q, "site": site}
    ctx["note"] = sel.history_note(q, None if name in ("top", "chart") else name)
    mode = _compare_mode(request)
    if name == "top":
        other = q.compared_so_far(mode, datetime.now(UTC)) if mode else None
        prev = sel.top_stats(other) if other else {}
        ctx["stats"] = [
            (k, r["value"], sel.compare({k: r["value"]}, prev)[k]["change"] if mode else None)
            for k, r in ((r["metric"], r) for r in rows)
        ]
        ctx["multi_day"] = q.days > 1
        if mode:
            ctx["compared"] = other
            ctx["compare_label"] = COMPARE_LABELS[mode].lower()
            ctx["compared_empty"] = not (prev.get("visits") or prev.get("pageviews"))
        return render(request, "dashboard/_top.html", ctx)
    if name == "chart":
        ctx["series"] = _chart_series(q, rows, mode)
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
    columns = P.panel_columns(dim)
    lead = columns[0][0]  # the bar shows the first metric, against the panel's largest
    top = max((r.get(lead) or 0 for r in rows), default=0)
    ctx.update(
        dim=dim,
        title=P.BREAKDOWNS[name][1],
        columns=[label for _, label, _ in columns],
        details=f"{base}/details/{name}/" + _qs({**q.params(), **_compare_extra(request)}),
        items=[
            {
                **r,
                "label": P.country_name(r["value"]) if dim == "country" else r["value"],
                "cells": [
                    (P.fmt_cell(r.get(k), kind), _compact(r.get(k)) if kind == "int" else "")
                    for k, _, kind in columns
                ],
                "share": round(100 * (r.get(lead) or 0) / top) if top else 0,
                "href": _qs({**q.params(**{dim: r["value"]}), **_compare_extra(request)}),
            }
            for r in rows
        ],
    )
    return render(request, "dashboard/_breakdown.html", ctx)


def _compact(value: Any) -> str:
    """The short form a narrow panel cell shows ('185k'); '' when it is the full figure."""
    from web.dashboard.templatetags.fmt import compact

    short = compact(value or 0)
    return "" if short == f"{int(value or 0):,}" else short


def _chart_series(q: sel.Query, rows: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    """The chart's data. Buckets that start after now are None (not drawn: the future is not
    zero); ``current`` is the index of the bucket now falls in (partial: drawn dotted);
    ``totals`` are the period's figures the legend shows at rest (issue 17, item 3)."""
    now = datetime.now(UTC)
    starts = [datetime.fromisoformat(r["t"].replace("Z", "+00:00")) for r in rows]
    future = [t > now for t in starts]
    current = next((i for i, t in enumerate(starts) if t <= now < t + _step(q)), None)

    def col(key: str, src: list[dict[str, Any]] = rows) -> list[int | None]:
        return [None if future[i] else r[key] for i, r in enumerate(src)]

    totals = sel.top_stats(q)
    metrics = ("visitors", "visits", "pageviews", *sel.RATE_KEYS)
    previous: list[int | None] = []
    previous_total = None
    if mode:
        # As the top panel: the compared period up to the same point as this one.
        previous_total = sel.top_stats(q.compared_so_far(mode, now))["visitors"]
        other = sel.timeseries(q.compared(mode))[: len(rows)]
        previous = [r["visitors"] for r in other] + [None] * (len(rows) - len(other))
    return {
        "t": [r["t"] for r in rows],
        **{k: col(k) for k in metrics},
        "previous": previous,
        "previous_label": COMPARE_LABELS.get(mode, "").lower(),
        "previous_total": previous_total,
        "previous_total_label": (
            COMPARE_LABELS.get(mode, "").lower() + (" to this time" if current is not None else "")
        ),
        "interval": q.interval,
        "current": current,
        "totals": {k: totals[k] for k in metrics},
    }


def _step(q: sel.Query) -> timedelta:
    return sel.HOUR if q.interval == "hour" else sel.DAY


def _csv(rows: list[dict[str, Any]], *name_parts: object) -> HttpResponse:
    resp = HttpResponse(P.to_csv(rows), content_type="text/csv; charset=utf-8")
    return _attachment(resp, *name_parts, ext="csv")


@_site_view
def panel(request: HttpRequest, site: Site, name: str) -> HttpResponse:
    return _panel(request, site, name, f"/dashboard/{site.pk}")


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
        return _error_page(request, site, base, str(exc), status=400, staff=base[1] == "d")
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
                "label": P.country_name(r["value"]) if dim == "country" else r["value"],
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
            (_filter_label(k), _filter_value(k, v), here + _qs({**q.params(**{k: None}), **own}))
            for k, v in q.filters.items()
        ],
        "range_label": dict(RANGE_LABELS).get(q.range, "Custom range"),
    }
    return render(request, "dashboard/details.html", ctx)


@_site_view
def details(request: HttpRequest, site: Site, name: str) -> HttpResponse:
    return _details(request, site, name, f"/dashboard/{site.pk}")


@_site_view
def export_zip(request: HttpRequest, site: Site) -> HttpResponse:
    try:
        q = _query(request, site)
    except sel.QueryError as exc:
        return HttpResponseBadRequest(str(exc))
    resp = HttpResponse(P.zip_all(q), content_type="application/zip")
    return _attachment(resp, f"site{site.pk}", q.range, ext="zip")


@_site_view
def realtime(request: HttpRequest, site: Site) -> HttpResponse:
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


@_site_view
def issues(request: HttpRequest, site: Site) -> HttpResponse:
    search = request.GET.get("q", "")[:200]
    status = request.GET.get("status", "open")
    if status not in ("", *Issue.Status.values):
        return _error_page(request, site, f"/dashboard/{site.pk}",
                           "status must be open, resolved, ignored or empty (all)", status=400,
                           staff=True)  # fmt: skip
    rows = sel.issues_search(site.pk, search=search, status=status)
    return render(
        request,
        "dashboard/issues.html",
        {"site": site, "issues": rows, "search": search, "status": status, "staff": True},
    )


@_site_view
def issue(request: HttpRequest, site: Site, issue_id: int) -> HttpResponse:
    try:
        detail = sel.issue_detail(issue_id)
    except Issue.DoesNotExist:
        detail = None
    if detail is None or detail["issue"].site_id != site.pk:
        return _not_found(request, f"There is no error issue {issue_id} on {site.name}.")
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
    ctx["nav_site"] = Site.objects.order_by("pk").first()  # the full navigation
    return render(request, "dashboard/status.html", ctx)


# --- public links ---------------------------------------------------------------------------


def _shared_site(key: str) -> Site:
    link = PublicLink.objects.select_related("site").filter(key=key, revoked_at=None).first()
    if link is None:
        raise Http404("this link does not exist or was revoked")
    return link.site


def _share_missing(request: HttpRequest) -> HttpResponse:
    return _not_found(
        request,
        "This shared dashboard link does not exist or was revoked: ask the site's owner for a "
        "new one.",
        staff=False,
    )


def share(request: HttpRequest, key: str) -> HttpResponse:
    try:
        site = _shared_site(key)
    except Http404:
        return _share_missing(request)
    base = f"/share/{key}"
    try:
        _check_params(request)
        q = _query(request, site)
        ctx = _page_context(request, site, q, base)
    except sel.QueryError as exc:
        return _error_page(request, site, base, str(exc), status=400, staff=False)
    ctx["staff"] = False
    return render(request, "dashboard/dashboard.html", ctx)


def share_panel(request: HttpRequest, key: str, name: str) -> HttpResponse:
    return _panel(request, _shared_site(key), name, f"/share/{key}")


def share_details(request: HttpRequest, key: str, name: str) -> HttpResponse:
    try:
        site = _shared_site(key)
    except Http404:
        return _share_missing(request)
    return _details(request, site, name, f"/share/{key}")


def share_realtime(request: HttpRequest, key: str) -> HttpResponse:
    return render(request, "dashboard/realtime.html", _realtime_ctx(_shared_site(key), staff=False))
