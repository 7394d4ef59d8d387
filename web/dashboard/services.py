"""Writes of the dashboard: API tokens, public links, funnels, rate counting and rollup
compaction. Views, admin actions, commands and cron call these."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta

from django.db import connections, transaction
from django.utils import timezone

from web.analytics.timefmt import sec_str
from web.core import ratelimit
from web.dashboard.models import ApiToken, Funnel, PublicLink

TOKEN_PREFIX = "hth_"


class RateLimited(Exception):
    """Too many requests in the current window; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after} s")
        self.retry_after = retry_after


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *, name: str, site_ids: list[int], rate_per_minute: int = 120
) -> tuple[ApiToken, str]:
    """Create a token scoped to ``site_ids``; return it and the secret, which is not stored
    (only its SHA-256 is) and so can be shown exactly once."""
    if not site_ids:
        raise ValueError("a token needs at least one site")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name, prefix=raw[:10], digest=token_digest(raw), rate_per_minute=rate_per_minute
        )
        token.sites.set(site_ids)
    return token, raw


def token_revoke(*, token_id: int) -> None:
    ApiToken.objects.filter(pk=token_id, revoked_at=None).update(revoked_at=timezone.now())


def rate_hit(*, key: str, limit: int, window_s: int = 60, now: float | None = None) -> int:
    """Count one request in the fixed window of ``key`` (web.core.ratelimit); raise
    RateLimited once the window holds more than ``limit``. Returns the count so far."""
    hit = ratelimit.count(key, limit=limit, window_s=window_s, now=now)
    if not hit.allowed:
        raise RateLimited(hit.retry_after)
    return hit.count


def public_link_create(*, site_id: int) -> PublicLink:
    return PublicLink.objects.create(site_id=site_id)


def public_link_revoke(*, link_id: int) -> None:
    PublicLink.objects.filter(pk=link_id, revoked_at=None).update(revoked_at=timezone.now())


def funnel_create(*, site_id: int, name: str, steps: list[str]) -> Funnel:
    if not 2 <= len(steps) <= 8 or any(not s.strip() for s in steps):
        raise ValueError("a funnel has 2 to 8 non-empty steps")
    return Funnel.objects.create(site_id=site_id, name=name, steps=[s.strip() for s in steps])


# --- rollup compaction ---------------------------------------------------------------------


def _month(d: date) -> date:
    return d.replace(day=1)


def rollups_compact(
    *, site_id: int, through: date | None = None, rebuild: bool = False
) -> dict[str, int]:
    """Sum hourly rollups into PeriodRollup day rows for days before ``through`` (default:
    today, so only today is read hourly) and month rows for whole months before it. Each run
    recomputes the last compacted day again, so events that arrive late for yesterday show
    up on the next (hourly) run. Idempotent: touched days and months are deleted and
    recomputed in one transaction. ``rebuild`` recomputes everything (late data older than
    a day)."""
    through = through or datetime.now(UTC).date()
    with connections["default"].cursor() as cur:
        cur.execute("SELECT through FROM dashboard_compactstate WHERE site_id=%s", [site_id])
        row = cur.fetchone()
        cur.execute("SELECT MIN(hour) FROM analytics_rollup WHERE site_id=%s", [site_id])
        (first_hour,) = cur.fetchone()
    if first_hour is None:
        return {"days": 0, "rows": 0}
    first = date.fromisoformat(str(first_hour)[:10])
    if row and not rebuild:
        done = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
        first = max(first, min(done, through) - timedelta(days=1))
    if first >= through:
        return {"days": 0, "rows": 0}
    m0 = _month(first)
    with transaction.atomic(using="default"), connections["default"].cursor() as cur:
        cur.execute(
            "DELETE FROM dashboard_periodrollup WHERE site_id=%s AND grain='d' AND start>=%s "
            "AND start<%s",
            [site_id, str(first), str(through)],
        )
        cur.execute(
            "INSERT INTO dashboard_periodrollup (site_id, grain, start, dim, value, pageviews, "
            "events, visitors_day, sessions, bounces, duration_ms) "
            "SELECT site_id, 'd', substr(hour,1,10), dim, value, SUM(pageviews), SUM(events), "
            "SUM(visitors_day), SUM(sessions), SUM(bounces), SUM(duration_ms) "
            "FROM analytics_rollup WHERE site_id=%s AND hour>=%s AND hour<%s "
            "GROUP BY substr(hour,1,10), dim, value",
            [site_id, f"{first} 00:00:00", f"{through} 00:00:00"],
        )
        rows = cur.rowcount
        m1 = _month(through)
        if m0 < m1:
            cur.execute(
                "DELETE FROM dashboard_periodrollup WHERE site_id=%s AND grain='m' AND start>=%s "
                "AND start<%s",
                [site_id, str(m0), str(m1)],
            )
            cur.execute(
                "INSERT INTO dashboard_periodrollup (site_id, grain, start, dim, value, "
                "pageviews, events, visitors_day, sessions, bounces, duration_ms) "
                "SELECT site_id, 'm', substr(start,1,7)||'-01', dim, value, SUM(pageviews), "
                "SUM(events), SUM(visitors_day), SUM(sessions), SUM(bounces), SUM(duration_ms) "
                "FROM dashboard_periodrollup WHERE site_id=%s AND grain='d' AND start>=%s "
                "AND start<%s GROUP BY substr(start,1,7), dim, value",
                [site_id, str(m0), str(m1)],
            )
            rows += cur.rowcount
        cur.execute(
            "INSERT INTO dashboard_compactstate (site_id, through, updated_at) VALUES (%s,%s,%s) "
            "ON CONFLICT(site_id) DO UPDATE SET through=excluded.through, "
            "updated_at=excluded.updated_at",
            [site_id, str(through), sec_str()],
        )
    return {"days": (through - first).days, "rows": rows}


def rollups_compact_all(*, dry_run: bool = False, progress: bool = False) -> dict[str, int]:
    """Cron job: compact every site (a dry run only counts the sites)."""
    from web.analytics.models import Site

    totals = {"sites": 0, "days": 0, "rows": 0}
    for site_id in Site.objects.values_list("pk", flat=True):
        totals["sites"] += 1
        if not dry_run:
            res = rollups_compact(site_id=site_id)
            totals["days"] += res["days"]
            totals["rows"] += res["rows"]
    return totals
