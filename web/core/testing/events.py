"""Analytics event payloads as ingest publishes them (schema.AnalyticsEvent), for the
analytics and dashboard tests that feed the worker's pipeline directly."""

from __future__ import annotations

import itertools

UA_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
UA_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
# 2026-11-20 00:00:00 UTC: a fixed day, so hours and days in assertions are readable.
DAY0 = 1_795_132_800.0
_seq = itertools.count()


def ev(
    ts: float,
    *,
    url: str = "https://hearth.test/",
    kind: str = "pageview",
    name: str | None = None,
    ip: str = "81.2.69.142",
    ua: str = UA_FIREFOX,
    ref: str = "",
    site: int = 1,
    **extra: object,
) -> dict:
    """One event payload at unix time ``ts``; ``extra`` adds or overrides fields (each call
    gets a fresh ``id``, so the worker's dedupe keeps them all)."""
    p = {
        "v": 1,
        "site": site,
        "kind": kind,
        "name": name or kind,
        "url": url,
        "ref": ref,
        "ts": ts,
        "ip": ip,
        "ua": ua,
        "src": "hearth",
        "id": f"t{next(_seq)}",
    }
    p.update(extra)
    return p
