"""Hearth's own formats: the tracker (t.js), the no-JS pixel, CSP and Reporting API reports."""

from __future__ import annotations

import dataclasses
from typing import Any

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.protocols.common import PAGEVIEW, Incoming, kind_for
from web.ingest.validate import Hit


# -- native (web/ingest/static/hearth/t.js) ------------------------------------------------------
def _native_one(item: Any) -> Hit:
    d = v.as_object(item, "event")
    name = v.event_name(d.get("n"), "n")
    keep_hash = bool(d.get("h"))
    kind = "error" if name == "error" else kind_for(name)
    err = None
    if kind == "error":
        x = v.as_object(d.get("x"), "'x' (error details)")
        err = v.error_fields(x, "x")
        if not err.get("message"):
            raise BadInput("'x.message' is required for error events")
        name = v.text(err.get("type"), "x.type", max_len=v.MAX_NAME) or "Error"
    return Hit(
        src="hearth",
        kind=kind,
        name=name,
        url=v.page_url(d.get("u"), "u", keep_hash=keep_hash),
        site_by=_native_site(d),
        ref=v.referrer(d.get("r"), "r"),
        props=v.props(d.get("p"), "p"),
        screen=v.integer(d.get("w"), "w", low=0, high=v.MAX_SCREEN),
        lang=v.text(d.get("l"), "l", max_len=v.MAX_LANG),
        title=v.text(d.get("t"), "t", max_len=v.MAX_TITLE),
        engaged_ms=v.integer(d.get("e"), "e", low=0, high=v.MAX_ENGAGED_MS),
        scroll=v.integer(d.get("s"), "s", low=0, high=100),
        error=err,
    )


MAX_DOMAINS = 10  # sites one beacon may count in (Plausible's comma-separated data-domain)


def _native_site(d: dict[str, Any]) -> tuple[str, str]:
    """``k`` (site key, id or alias), else ``d`` (a domain or alias: the drop-in build of
    the tracker sends a Plausible ``data-domain`` or the page's host for GoatCounter)."""
    key = v.text(d.get("k"), "k", max_len=60)
    if key:
        return ("key", key)
    domain = v.text(d.get("d"), "d", max_len=500).strip().lower()
    if not domain:
        raise BadInput("'k' (the site key) or 'd' (the site's domain) is required")
    return ("host", domain)


def _native_hits(item: Any) -> list[Hit]:
    """One hit, or one per site when ``d`` lists several domains (as Plausible does)."""
    hit = _native_one(item)
    how, value = hit.site_by
    if how != "host" or "," not in value:
        return [hit]
    domains = [p.strip() for p in value.split(",") if p.strip()]
    if not domains or len(domains) > MAX_DOMAINS:
        raise BadInput(f"'d' must name 1 to {MAX_DOMAINS} comma-separated domains")
    return [dataclasses.replace(hit, site_by=("host", dom)) for dom in domains]


def parse_native(req: Incoming) -> list[Hit]:
    """Body: one event object or an array of them (JSON sent as text/plain by the tracker)."""
    data = v.load_json(req.body)
    items = v.batch(data, "body") if isinstance(data, list) else [data]
    return [hit for item in items for hit in _native_hits(item)]


# -- the no-JS pixel ---------------------------------------------------------------------------
def parse_pixel(req: Incoming) -> list[Hit]:
    """GET /ingest/p.gif?k=<site key>[&u=url][&r=referrer][&n=name] for pages without JS."""
    q = req.params()
    key = v.text(q.get("k"), "k", max_len=60, required=True)
    url = q.get("u") or req.referer
    if not url:
        raise BadInput("no page URL: send ?u=<url> or allow the Referer header")
    name = v.text(q.get("n"), "n", max_len=v.MAX_NAME) or PAGEVIEW
    return [
        Hit(
            src="pixel",
            kind=kind_for(name),
            name=name,
            url=v.page_url(url, "u"),
            site_by=("key", key),
            ref=v.referrer(q.get("r"), "r"),
        )
    ]


# -- CSP reports and the Reporting API ----------------------------------------------------------
def _csp_hit(body: dict[str, Any], names: dict[str, str], key: str) -> Hit:
    """One CSP violation; ``names`` maps our field to the format's (kebab or camelCase)."""
    doc = v.page_url(body.get(names["doc"]), names["doc"])
    directive = v.text(
        body.get(names["effective"]) or body.get(names["violated"]),
        names["effective"],
        max_len=200,
        required=True,
    )
    blocked = v.text(body.get(names["blocked"]), names["blocked"], max_len=v.MAX_URL)
    err = v.error_fields(
        {
            "message": f"{directive} blocked {blocked or 'inline'}",
            "directive": directive,
            "blocked": blocked,
            "source": body.get(names["source"]),
            "line": body.get(names["line"]),
            "col": body.get(names["col"]),
            "sample": body.get(names["sample"]),
            "disposition": body.get("disposition"),
        },
        "csp-report",
    )
    return Hit(
        src="csp",
        kind="csp",
        name=directive.split(" ", 1)[0][: v.MAX_NAME],
        url=doc,
        site_by=("key", key) if key else ("host", v.url_host(doc)),
        ref=v.referrer(body.get("referrer") or None, "referrer"),
        error=err,
    )


_CSP_LEVEL2 = {
    "doc": "document-uri",
    "effective": "effective-directive",
    "violated": "violated-directive",
    "blocked": "blocked-uri",
    "source": "source-file",
    "line": "line-number",
    "col": "column-number",
    "sample": "script-sample",
}
_CSP_REPORTING = {
    "doc": "documentURL",
    "effective": "effectiveDirective",
    "violated": "violatedDirective",
    "blocked": "blockedURL",
    "source": "sourceFile",
    "line": "lineNumber",
    "col": "columnNumber",
    "sample": "sample",
}


def _report_hit(item: Any, key: str) -> Hit:
    r = v.as_object(item, "report")
    kind = v.text(r.get("type"), "type", max_len=60, required=True)
    body = v.as_object(r.get("body") or {}, "'body'")
    if kind == "csp-violation":
        return _csp_hit(body, _CSP_REPORTING, key)
    url = v.page_url(r.get("url"), "url")
    err = v.error_fields(
        {
            "message": body.get("message") or kind,
            "source": body.get("sourceFile"),
            "line": body.get("lineNumber"),
            "col": body.get("columnNumber"),
            "id": body.get("id"),
        },
        "body",
    )
    return Hit(
        src="reporting",
        kind="error",
        name=kind[: v.MAX_NAME],
        url=url,
        site_by=("key", key) if key else ("host", v.url_host(url)),
        error=err,
    )


def parse_reports(req: Incoming) -> list[Hit]:
    """POST /ingest/report[?k=<site key>]: a CSP report-uri body or a Reporting API batch."""
    key = v.text(req.params().get("k"), "k", max_len=60)
    data = v.load_json(req.body)
    if req.content_type == "application/reports+json" or isinstance(data, list):
        return [_report_hit(item, key) for item in v.batch(data, "reports")]
    d = v.as_object(data, "body")
    if "csp-report" not in d:
        raise BadInput("expected {'csp-report': {...}} or a Reporting API array")
    return [_csp_hit(v.as_object(d["csp-report"], "'csp-report'"), _CSP_LEVEL2, key)]
