"""Google Analytics 4: gtag.js's collect requests (/g/collect) and the Measurement
Protocol (/mp/collect).

gtag.js (with ``transport_url`` or ``server_container_url`` pointing at Hearth) sends
``POST /g/collect?v=2&tid=G-…&cid=…&dl=<page>&dr=<referrer>&dt=<title>&ul=<lang>&sr=WxH
&en=<event>&ep.<name>=<text>&epn.<name>=<number>&_et=<engaged ms>…``: the parameters
shared by a batch in the query and, when it batches, one event per body line (each line
``en=…&ep.…``, overriding the query's parameters). Without sendBeacon it may send a GET.
The Measurement Protocol posts JSON ``{"client_id", "events": [{"name", "params"}]}`` with
``measurement_id`` (and ``api_secret``) in the query. The parameter names are Google's
documented ones; gtag.js itself is not open source.

Mapping onto Hearth's events: ``page_view`` → pageview; ``user_engagement`` → engagement
with ``_et`` (``engagement_time_msec``) as engaged time; ``scroll`` → engagement with its
``percent_scrolled`` as scroll depth; ``click`` with ``outbound`` → "Outbound Link: Click",
``file_download`` → "File Download", ``view_search_results`` → "Site Search"; any other
event → a custom event whose props are its ``ep.*``/``epn.*`` parameters (MP: ``params``).
An ``_et`` on another event (time engaged since the previous one, same page) becomes an
extra engagement hit, so time on page adds up as GA4 adds it up.
"""

from __future__ import annotations

from typing import Any

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.protocols.common import PAGEVIEW, Incoming
from web.ingest.protocols.matomo import params
from web.ingest.protocols.umami import flatten_data
from web.ingest.validate import Hit, Skip

OUTBOUND = "Outbound Link: Click"
DOWNLOAD = "File Download"
SEARCH = "Site Search"
# Events GA4 derives on its side (gtag sends them as _ss/_fv flags; MP reserves them).
DERIVED = frozenset({"session_start", "first_visit", "first_open", "user_first_engagement"})
# MP params that are page context, not event props.
PAGE_PARAMS = frozenset(
    {"page_location", "page_referrer", "page_title", "language", "screen_resolution",
     "engagement_time_msec", "session_id", "session_number", "timestamp_micros"}
)  # fmt: skip


def _width(res: str) -> int | None:
    head = res.split("x", 1)[0]
    return int(head) if head.isdigit() and int(head) <= v.MAX_SCREEN else None


def _ms(value: Any, key: str) -> int | None:
    n = v.integer(value, key, low=-(2**53), high=2**53)
    return None if n is None else min(max(n, 0), v.MAX_ENGAGED_MS)


def _hits(
    name: str,
    *,
    url: str,
    site: str,
    ref: str,
    title: str,
    lang: str,
    screen: int | None,
    props: dict[str, str] | None,
    engaged: int | None,
) -> list[Hit | Skip]:
    """The Hearth hits of one GA4 event (see the module docstring for the mapping)."""
    if name in DERIVED:
        return [Skip("unsupported", ("alias", site))]
    p = props or {}
    common: dict[str, Any] = {"src": "ga4", "url": url, "site_by": ("alias", site), "lang": lang}
    if name == "page_view":
        return [Hit(kind="pageview", name=PAGEVIEW, ref=ref, title=title, screen=screen, **common)]
    if name in ("user_engagement", "scroll"):
        scroll = None
        if name == "scroll":
            pct = v.integer(p.get("percent_scrolled") or 90, "percent_scrolled", low=0, high=10**6)
            scroll = min(pct or 0, 100)
        return [Hit(kind="engagement", name="engagement", engaged_ms=engaged or 0, scroll=scroll,
                    **common)]  # fmt: skip
    if name == "click" and p.get("outbound") in ("true", "1"):
        name, p = OUTBOUND, {"url": p.get("link_url", "")}
    elif name == "file_download":
        name, p = DOWNLOAD, {"url": p.get("link_url", "")}
    elif name == "view_search_results":
        name, p = SEARCH, {"keyword": p.get("search_term", "")}
    p = {k: val for k, val in p.items() if val}
    out: list[Hit | Skip] = [
        Hit(kind="custom", name=v.event_name(name, "en"), props=p or None, screen=screen, **common)
    ]
    if engaged:
        out.append(Hit(kind="engagement", name="engagement", engaged_ms=engaged, **common))
    return out


def _ep(q: dict[str, str]) -> dict[str, str] | None:
    """``ep.<name>`` and ``epn.<name>`` parameters as props (user properties are not kept)."""
    out: dict[str, str] = {}
    for key, value in q.items():
        prefix, _, name = key.partition(".")
        if prefix in ("ep", "epn") and name and value and "\x00" not in name + value:
            out.setdefault(name[: v.MAX_PROP_KEY], value[: v.MAX_PROP_VALUE])
            if len(out) >= v.MAX_PROPS:
                break
    return out or None


def _collect_one(q: dict[str, str], req: Incoming) -> list[Hit | Skip]:
    site = v.text(q.get("tid"), "tid", max_len=60, required=True)
    name = v.text(q.get("en"), "en", max_len=v.MAX_NAME, required=True)
    raw_url = q.get("dl") or (req.referer if "://" in req.referer else "")
    if not raw_url:
        raise BadInput("'dl' (document location) is required")
    ref = v.text(q.get("dr"), "dr", max_len=v.MAX_URL)
    if q.get("ir") in ("1", "true"):
        ref = ""  # "ignore referrer" (GA4's unwanted-referral setting)
    return _hits(
        name,
        url=v.page_url(raw_url, "dl"),
        site=site,
        ref=v.referrer(ref if "://" in ref else "", "dr"),
        title=v.text(q.get("dt"), "dt", max_len=3 * v.MAX_TITLE)[: v.MAX_TITLE],
        lang=v.text(q.get("ul"), "ul", max_len=v.MAX_LANG),
        screen=_width(q.get("sr", "")),
        props=_ep(q),
        engaged=_ms(q.get("_et"), "_et") if name != "page_view" else None,
    )


def parse_ga4_collect(req: Incoming) -> list[Hit | Skip]:
    """GET|POST /g/collect: common parameters in the query, events in the query (one) or in
    the body (one per line, up to 50)."""
    query = params(req.query)
    try:
        text = req.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput("body is not UTF-8") from exc
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines:
        return _collect_one(query, req)
    if len(lines) > v.MAX_BATCH:
        raise BadInput(f"more than {v.MAX_BATCH} events in one request")
    out: list[Hit | Skip] = []
    for line in lines:
        out.extend(_collect_one({**query, **params(line.strip())}, req))
    return out


def parse_ga4_mp(req: Incoming) -> list[Hit | Skip]:
    """POST /mp/collect?measurement_id=G-…: ``{"client_id", "events": [{"name", "params"}]}``."""
    site = v.text(params(req.query).get("measurement_id"), "measurement_id", max_len=60)
    if not site:
        raise BadInput("'measurement_id' is required in the query (firebase_app_id is not)")
    data = v.as_object(v.load_json(req.body), "body")
    events = v.batch(data.get("events"), "'events'")
    out: list[Hit | Skip] = []
    for item in events:
        e = v.as_object(item, "event")
        name = v.text(e.get("name"), "events[].name", max_len=v.MAX_NAME, required=True)
        p = v.as_object(e.get("params") or {}, "events[].params")
        page = v.text(p.get("page_location"), "page_location", max_len=v.MAX_URL)
        # Server-side events often have no page: '/', completed with the site's domain.
        url = v.page_url(page, "page_location") if page else "/"
        ref = v.text(p.get("page_referrer"), "page_referrer", max_len=v.MAX_URL)
        rest = {k: val for k, val in p.items() if k not in PAGE_PARAMS}
        out.extend(
            _hits(
                name,
                url=url,
                site=site,
                ref=v.referrer(ref if "://" in ref else "", "page_referrer"),
                title=v.text(p.get("page_title"), "page_title", max_len=3 * v.MAX_TITLE)[
                    : v.MAX_TITLE
                ],
                lang=v.text(p.get("language"), "language", max_len=v.MAX_LANG),
                screen=_width(str(p.get("screen_resolution") or "")),
                props=flatten_data(rest, "events[].params"),
                engaged=_ms(p.get("engagement_time_msec"), "engagement_time_msec"),
            )
        )
    return out
