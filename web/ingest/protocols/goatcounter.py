"""GoatCounter's count endpoint (GET|POST /count), as count.js sends it."""

from __future__ import annotations

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.protocols.common import PAGEVIEW, Incoming, origin_of
from web.ingest.validate import Hit


def parse_goatcounter(req: Incoming) -> list[Hit]:
    """GET|POST /count?p=path&t=title&r=referrer&e=event&s=screen&q=query&b=bot."""
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
