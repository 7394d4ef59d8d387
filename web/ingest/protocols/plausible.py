"""Plausible's Events API (POST /api/event), as its trackers send it.

Shapes read from ``@plausible-analytics/tracker`` 0.4 and ``plausible-tracker`` 0.3: a
pageview or custom event ``{n, u, d, r, p, h, i, v}``, and (0.4, Plausible's script since
2025) an ``engagement`` event ``{n: "engagement", u, d, p, e: <ms engaged>, sd: <scroll
depth %>, h, v}`` sent when the page is left or hidden.
"""

from __future__ import annotations

import math
from typing import Any

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.protocols.common import Incoming, kind_for
from web.ingest.validate import Hit


def _clamped(value: Any, key: str, low: int, high: int) -> int | None:
    """A number the tracker computes (time, a percentage that can pass 100 on pages that
    grow while read): kept within [low, high] instead of refusing the event."""
    n = v.integer(value, key, low=-(2**53), high=2**53)
    return None if n is None else min(max(n, low), high)


def _revenue(value: Any) -> dict[str, str] | None:
    """Plausible's revenue ``{"amount": 10.5, "currency": "EUR"}`` (sent as ``$``) as the
    props ``revenue_amount`` and ``revenue_currency``."""
    if value is None or value == {}:
        return None
    d = v.as_object(value, "'$' (revenue)")
    amount, currency = d.get("amount"), d.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        raise BadInput("'$.amount' must be a number")
    try:
        number = float(amount)
    except ValueError as exc:
        raise BadInput("'$.amount' must be a number") from exc
    if not math.isfinite(number):
        raise BadInput("'$.amount' must be a finite number")
    code = v.text(currency, "$.currency", max_len=10, required=True)
    return {"revenue_amount": str(amount), "revenue_currency": code.upper()}


# -- Plausible Events API -----------------------------------------------------------------------
def parse_plausible(req: Incoming) -> list[Hit]:
    """POST /api/event: n|name, u|url, d|domain, r|referrer, p|props, h|hashMode, and for
    ``engagement`` events e (engaged ms) and sd (scroll depth %)."""
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
    revenue = _revenue(d.get("$") if "$" in d else d.get("revenue"))
    if revenue:
        props = {**(props or {}), **revenue}
    kind = kind_for(name)
    engaged_ms = scroll = None
    if kind == "engagement":
        # Engagement carries the pageview's props again: they are not stored twice.
        props = None
        engaged_ms = _clamped(d.get("e"), "e", 0, v.MAX_ENGAGED_MS) or 0
        scroll = _clamped(d.get("sd"), "sd", 0, 100)
    # A comma-separated domain sends the same event to several sites (Plausible does too).
    for domain in (p.strip().lower() for p in domains.split(",")):
        if domain:
            hits.append(
                Hit(
                    src="plausible",
                    kind=kind,
                    name=name,
                    url=url,
                    site_by=("host", domain),
                    ref=ref,
                    props=props,
                    screen=screen,
                    engaged_ms=engaged_ms,
                    scroll=scroll,
                )
            )
    if not hits:
        raise BadInput("'domain' is required")
    return hits
