"""Plausible's Events API (POST /api/event), as its trackers send it."""

from __future__ import annotations

from typing import Any

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.protocols.common import Incoming, kind_for
from web.ingest.validate import Hit


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
                    kind=kind_for(name),
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
