"""Reads of the beacon counts (ttl.db) for the site admin page: what arrived, what was
dropped and why, and which unknown keys or domains were refused (issue 17, item 8)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from web.ingest.tally import hour_of

# What each drop reason means, in words an owner can act on.
DROP_REASONS = {
    "bot": "a bot or headless browser (its User-Agent, or the tracker's bot flag)",
    "hostname": "the page is not on one of the site's domains",
    "spam": "the referrer is a known spam domain",
    "rate": "over 10 beacons a second from one address",
    "unsupported": "a request type Hearth does not store",
}


@dataclass
class SiteBeacons:
    """Counts of one site since ``since`` (unix seconds, the start of the previous hour)."""

    since: int
    accepted: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    last_at: float = 0.0

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


@dataclass(frozen=True)
class Refused:
    kind: str  # key | domain | alias
    value: str
    count: int
    last_at: float


def site_beacons(site_id: int, *, now: float | None = None) -> SiteBeacons:
    """Accepted and dropped-by-reason beacons of a site in this hour and the one before."""
    from web.ingest.models import BeaconCount

    since = hour_of(time.time() if now is None else now) - 3600
    out = SiteBeacons(since=since)
    rows = BeaconCount.objects.filter(site_id=site_id, hour__gte=since).values_list(
        "outcome", "detail", "count", "last_at"
    )
    for outcome, detail, count, last_at in rows:
        out.last_at = max(out.last_at, last_at)
        if outcome == "accepted":
            out.accepted += count
        elif outcome == "dropped":
            out.dropped[detail] = out.dropped.get(detail, 0) + count
    out.dropped = dict(sorted(out.dropped.items(), key=lambda kv: -kv[1]))
    return out


def refused_recently(
    *, hours: int = 24, now: float | None = None, limit: int = 20
) -> list[Refused]:
    """Unknown site keys, domains and aliases refused in the last ``hours``, most first."""
    from django.db.models import Max, Sum

    from web.ingest.models import BeaconCount

    since = hour_of(time.time() if now is None else now) - hours * 3600
    rows = (
        BeaconCount.objects.filter(site_id=0, outcome="refused", hour__gte=since)
        .values("detail")
        .annotate(n=Sum("count"), last=Max("last_at"))
        .order_by("-n", "detail")[:limit]
    )
    out = []
    for row in rows:
        kind, _, value = row["detail"].partition(":")
        out.append(Refused(kind=kind, value=value, count=int(row["n"]), last_at=row["last"]))
    return out
