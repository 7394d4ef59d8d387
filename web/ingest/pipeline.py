"""Shared steps after parsing, for every wire format: site, drop rules, stamp.

Order matters and is the same for all formats: bad input (unknown site) is refused with a
4xx before any drop rule runs, so a broken snippet is visible to its author; then bots,
rate, and per-hit hostname and spam rules drop with a counted reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from web.analytics.schema import AnalyticsEvent
from web.ingest import filters, validate
from web.ingest.errors import UnknownSite
from web.ingest.sites import Snapshot
from web.ingest.validate import Hit, Skip


class UnknownSiteRef(UnknownSite):
    """A hit names a site key, domain or alias the snapshot does not know (400)."""

    def __init__(self, how: str, value: str) -> None:
        what = {"key": "site key", "alias": "site alias"}.get(how, "domain")
        super().__init__(
            f"unknown {what} {value!r}: check the snippet's site key or the site's domains"
        )
        self.how = how
        self.value = value


@dataclass(slots=True)
class Outcome:
    """``dropped`` counts by reason; ``dropped_by_site`` by (site id, reason), site 0 when
    the hit was dropped before its site was known (unsupported, a parser's Skip)."""

    events: list[AnalyticsEvent] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    dropped_by_site: Counter[tuple[int, str]] = field(default_factory=Counter)

    def drop(self, site_id: int, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n
        self.dropped_by_site[(site_id, reason)] += n

    @property
    def drop_reason(self) -> str:
        """The most common drop reason ('' when nothing was dropped)."""
        return self.dropped.most_common(1)[0][0] if self.dropped else ""


def process(
    hits: Sequence[Hit | Skip | None],
    *,
    sites: Snapshot,
    ip: str,
    ua: str,
    ts: float,
    limiter: filters.RateLimiter | None,
) -> Outcome:
    """Resolve, filter and stamp hits; raise UnknownSite when any names no known site.

    Safe to run again on a fresher snapshot after UnknownSiteRef: nothing is counted or
    rate-limited before every hit is resolved.
    """
    out = Outcome()
    resolved = []
    for hit in hits:
        if hit is None:
            out.drop(0, "unsupported")
            continue
        if isinstance(hit, Skip):
            # Counted for the site the request names, when it names one we know.
            found = sites.find(*hit.site_by) if hit.site_by and hit.site_by[1] else None
            out.drop(found.id if found else 0, hit.reason)
            continue
        how, value = hit.site_by
        site = sites.find(how, value) if value else None
        if site is None:
            raise UnknownSiteRef(how, value)
        if hit.url.startswith("/"):
            if not site.domains:
                raise UnknownSite(f"site {site.id} has no domain to complete the path with")
            hit.url = f"https://{site.domains[0]}{hit.url}"
            hit.host = site.domains[0]
        resolved.append((hit, site))
    if not resolved:
        return out
    # A hit's own UA (Matomo's ua=, Umami's payload.userAgent) stands for the header's.
    if any(h.bot_hint or filters.is_bot(h.ua or ua) for h, _ in resolved):
        for _, site in resolved:
            out.drop(site.id, "bot")
        return out
    if limiter is not None and not limiter.allow(ip, cost=len(resolved)):
        for _, site in resolved:
            out.drop(site.id, "rate")
        return out
    for hit, site in resolved:
        if not site.allows_host(hit.host):
            out.drop(site.id, "hostname")
        elif filters.is_spam_referrer(hit.ref):
            out.drop(site.id, "spam")
        else:
            out.events.append(validate.to_event(hit, site_id=site.id, ts=ts, ip=ip, ua=ua))
    return out
