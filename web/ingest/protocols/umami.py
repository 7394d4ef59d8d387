"""Umami's collect API (POST /api/send, /api/batch), as its trackers 2.x and 3.x send it."""

from __future__ import annotations

from typing import Any

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.protocols.common import PAGEVIEW, Incoming
from web.ingest.validate import Hit


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
