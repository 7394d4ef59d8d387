"""One parser per wire format: raw request in, validated ``Hit`` list out, or BadInput.

Parsers are pure (no I/O, no site lookups) so they are table-tested and fuzzed directly.
Site resolution, the allow-list and drop rules come after, in pipeline.py, for every format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.validate import Hit

PAGEVIEW = "pageview"


@dataclass(frozen=True, slots=True)
class Incoming:
    """What a parser may look at: method, query, body and two headers."""

    method: str
    query: str = ""
    body: bytes = b""
    content_type: str = ""
    referer: str = ""
    origin: str = ""

    def params(self) -> dict[str, str]:
        """Query parameters, first value wins."""
        try:
            parsed = parse_qs(self.query, keep_blank_values=True, max_num_fields=40)
        except ValueError as exc:
            raise BadInput("too many query parameters") from exc
        return {k: vals[0] for k, vals in parsed.items()}


def _kind_for(name: str) -> str:
    if name == PAGEVIEW:
        return "pageview"
    if name == "engagement":
        return "engagement"
    return "custom"


# -- native (web/ingest/static/hearth/t.js) ------------------------------------------------------
def _native_one(item: Any) -> Hit:
    d = v.as_object(item, "event")
    name = v.event_name(d.get("n"), "n")
    keep_hash = bool(d.get("h"))
    kind = "error" if name == "error" else _kind_for(name)
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
        site_by=("key", v.text(d.get("k"), "k", max_len=60, required=True)),
        ref=v.referrer(d.get("r"), "r"),
        props=v.props(d.get("p"), "p"),
        screen=v.integer(d.get("w"), "w", low=0, high=v.MAX_SCREEN),
        lang=v.text(d.get("l"), "l", max_len=v.MAX_LANG),
        title=v.text(d.get("t"), "t", max_len=v.MAX_TITLE),
        engaged_ms=v.integer(d.get("e"), "e", low=0, high=v.MAX_ENGAGED_MS),
        scroll=v.integer(d.get("s"), "s", low=0, high=100),
        error=err,
    )


def parse_native(req: Incoming) -> list[Hit]:
    """Body: one event object or an array of them (JSON sent as text/plain by the tracker)."""
    data = v.load_json(req.body)
    items = v.batch(data, "body") if isinstance(data, list) else [data]
    return [_native_one(item) for item in items]


# -- Plausible Events API -----------------------------------------------------------------------
def parse_plausible(req: Incoming) -> list[Hit]:
    """POST /api/event: n|name, u|url, d|domain, r|referrer, p|props, h|hashMode."""
    d = v.as_object(v.load_json(req.body), "body")

    def get(short: str, long: str) -> Any:
        return d.get(short) if short in d else d.get(long)

    name = v.event_name(get("n", "name"), "name")
    url = v.page_url(get("u", "url"), "url", keep_hash=bool(get("h", "hashMode")))
    domains = v.text(get("d", "domain"), "domain", max_len=500, required=True)
    hits = []
    props = v.props(get("p", "props"), "props")
    ref = v.referrer(get("r", "referrer"), "referrer")
    screen = v.integer(d.get("w"), "w", low=0, high=v.MAX_SCREEN)
    # A comma-separated domain sends the same event to several sites (Plausible does too).
    for domain in (p.strip().lower() for p in domains.split(",")):
        if domain:
            hits.append(
                Hit(
                    src="plausible",
                    kind=_kind_for(name),
                    name=name,
                    url=url,
                    site_by=("host", domain),
                    ref=ref,
                    props=props,
                    screen=screen,
                )
            )
    if not hits:
        raise BadInput("'domain' is required")
    return hits


# -- Umami --------------------------------------------------------------------------------------
def _umami_one(item: Any) -> Hit | None:
    d = v.as_object(item, "event")
    kind = v.text(d.get("type"), "type", max_len=20, required=True)
    p = v.as_object(d.get("payload"), "'payload'")
    if kind != "event":
        if kind == "identify":
            return None  # session data: not tracked here (dropped as "unsupported")
        raise BadInput("'type' must be 'event' or 'identify'")
    website = v.text(p.get("website"), "payload.website", max_len=60, required=True)
    hostname = v.text(p.get("hostname"), "payload.hostname", max_len=253).lower()
    raw_url = v.text(p.get("url"), "payload.url", max_len=v.MAX_URL, required=True)
    if raw_url.startswith("/"):
        # Older Umami trackers send the path only; the host comes from `hostname`.
        if not hostname:
            raise BadInput("'payload.hostname' is required when 'payload.url' is a path")
        raw_url = f"https://{hostname}{raw_url}"
    url = v.page_url(raw_url, "payload.url")
    ref = v.text(p.get("referrer"), "payload.referrer", max_len=v.MAX_URL)
    if ref.startswith("/"):
        ref = ""  # a same-site path: Umami sends it for internal navigation
    screen = v.text(p.get("screen"), "payload.screen", max_len=20)
    width = None
    if screen:
        width = v.integer(screen.split("x", 1)[0], "payload.screen", low=0, high=v.MAX_SCREEN)
    name = v.text(p.get("name"), "payload.name", max_len=v.MAX_NAME)
    return Hit(
        src="umami",
        kind="custom" if name else "pageview",
        name=name or PAGEVIEW,
        url=url,
        site_by=("key", website),
        ref=v.referrer(ref, "payload.referrer"),
        props=v.props(p.get("data"), "payload.data"),
        screen=width,
        lang=v.text(p.get("language"), "payload.language", max_len=v.MAX_LANG),
        title=v.text(p.get("title"), "payload.title", max_len=v.MAX_TITLE),
    )


def parse_umami_send(req: Incoming) -> list[Hit | None]:
    """POST /api/send: {type, payload: {website, hostname, url, referrer, ...}}."""
    return [_umami_one(v.load_json(req.body))]


def parse_umami_batch(req: Incoming) -> list[Hit | None]:
    """POST /api/batch: an array of /api/send bodies."""
    return [_umami_one(item) for item in v.batch(v.load_json(req.body), "body")]


# -- GoatCounter and the no-JS pixel ------------------------------------------------------------
def _origin_of(req: Incoming) -> str:
    """scheme://host of the page, from Origin or Referer ('' when neither is usable)."""
    for raw in (req.origin, req.referer):
        if raw and raw != "null":
            try:
                parts = urlsplit(raw)
            except ValueError:
                continue
            if parts.scheme in ("http", "https") and parts.hostname:
                return f"{parts.scheme}://{parts.netloc}"
    return ""


def parse_goatcounter(req: Incoming) -> list[Hit]:
    """GET|POST /count?p=path&t=title&r=referrer&e=event&s=screen&q=query&b=bot."""
    q = req.params()
    path = v.text(q.get("p"), "p", max_len=v.MAX_URL, required=True)
    is_event = q.get("e", "") in ("true", "1", "on")
    origin = _origin_of(req)
    key = v.text(q.get("k"), "k", max_len=60)
    site_by = ("key", key) if key else ("host", v.url_host(origin))
    if not key and not origin:
        raise BadInput("cannot tell the site: send an Origin/Referer header or ?k=<site key>")
    bot = q.get("b", "")
    if is_event:
        name = path.lstrip("/")[: v.MAX_NAME] or "event"
        page = req.referer if req.referer.startswith(("http://", "https://")) else origin + "/"
    else:
        name = PAGEVIEW
        query = q.get("q", "")
        page = origin + "/" + path.lstrip("/") + (("?" + query.lstrip("?")) if query else "")
    # Without an Origin/Referer the page is a path: the pipeline puts the site's host on it.
    url = v.page_url(page, "p") if origin else v.text(page, "p", max_len=v.MAX_URL)
    screen = q.get("s", "")
    return [
        Hit(
            src="goatcounter",
            kind="custom" if is_event else "pageview",
            name=name,
            url=url,
            site_by=site_by,
            ref=v.referrer(q.get("r") if "://" in q.get("r", "") else "", "r"),
            title=v.text(q.get("t"), "t", max_len=v.MAX_TITLE),
            screen=v.integer(screen.split(",", 1)[0], "s", low=0, high=v.MAX_SCREEN)
            if screen
            else None,
            bot_hint=bool(bot) and bot != "0",
        )
    ]


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
            kind=_kind_for(name),
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


Parser = Callable[[Incoming], list[Hit] | list[Hit | None]]
