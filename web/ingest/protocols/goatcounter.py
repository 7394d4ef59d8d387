"""GoatCounter's count endpoint (GET|POST /count), as count.js sends it.

Read from arp242/goatcounter ``public/count.js`` (``get_data``) and ``hit.go``
(``Defaults``): count.js sends ``p`` (``location.pathname + location.search``, so the
query string is already in it), ``q`` (``location.search`` again: GoatCounter reads only
the campaign from it), ``r`` (``document.referrer``), ``t`` (title), ``e`` (``true`` for an
event, absent otherwise), ``s`` (screen width), ``b`` (0, or 150-153 for a headless
browser), ``rnd`` and ``ns``. For an event ``p`` is the event's name and the page is not
sent at all: the only trace of it is the ``Referer`` header, which a browser reduces to the
origin for a cross-origin beacon (``strict-origin-when-cross-origin``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.protocols.common import PAGEVIEW, Incoming, origin_of
from web.ingest.validate import Hit

# The parameters GoatCounter takes its campaign and referrer from (hit.go, Defaults).
CAMPAIGN_KEYS = ("ref", "src", "source", "campaign")


def _campaign(query: str) -> str:
    """The campaign parameters of ``q`` (utm_*, ref, src, source, campaign) as a query
    string, '' when there are none."""
    try:
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=False, max_num_fields=40)
    except ValueError as exc:
        raise BadInput("'q' has too many parameters") from exc
    keep = [(k, val) for k, val in pairs if k.startswith("utm_") or k in CAMPAIGN_KEYS]
    return urlencode(keep)


def _event_page(req: Incoming, origin: str) -> str:
    """The page an event happened on: the Referer when the browser sent the full URL
    (same origin, or a permissive referrer policy), else the site's root."""
    if req.referer.startswith(("http://", "https://")) and v.url_host(req.referer):
        return req.referer
    return origin + "/"


def parse_goatcounter(req: Incoming) -> list[Hit]:
    """GET|POST /count?p=path&t=title&r=referrer&e=event&s=screen&q=query&b=bot[&k=key].

    ``data-goatcounter="https://hearth.example/count?k=CODE"`` names the site by its key or
    an alias (count.js appends its own ``?p=…``, which is read as ``&p=…``); without ``k``
    the site is the Origin/Referer host.
    """
    # count.js appends "?p=..." to the endpoint; with "?k=CODE" in the endpoint the query
    # arrives as "k=CODE?p=...": read the second "?" as "&".
    head, sep, tail = req.query.partition("?")
    if sep and not any(part.startswith("p=") for part in head.split("&")):
        req = Incoming(
            req.method, f"{head}&{tail}", req.body, req.content_type, req.referer, req.origin
        )
    q = req.params()
    path = v.text(q.get("p"), "p", max_len=v.MAX_URL, required=True)
    is_event = q.get("e", "") in ("true", "1", "on")
    origin = origin_of(req)
    key = v.text(q.get("k"), "k", max_len=60)
    site_by = ("key", key) if key else ("host", v.url_host(origin))
    if not key and not origin:
        raise BadInput("cannot tell the site: send an Origin/Referer header or ?k=<site key>")
    bot = q.get("b", "")
    if is_event:
        name = path.lstrip("/")[: v.MAX_NAME] or "(no event name)"  # as GoatCounter names it
        page = _event_page(req, origin)
    else:
        name = PAGEVIEW
        if path.startswith(("http://", "https://")):
            page = path  # a path callback that returns a full URL
        else:
            page = origin + "/" + path.lstrip("/")
            campaign = _campaign(v.text(q.get("q"), "q", max_len=v.MAX_URL))
            if campaign and "?" not in path:
                # p already carries location.search; q adds only the campaign, and only
                # when p lost its query (a canonical link, a path callback).
                page += "?" + campaign
    # Without an Origin/Referer the page is a path: the pipeline puts the site's host on it.
    url = v.page_url(page, "p") if origin or "://" in page else v.text(page, "p", max_len=v.MAX_URL)
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
