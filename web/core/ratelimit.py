"""Fixed-window rate limits: one UPSERT per hit on one tiny table in ttl.db.

The one limiter of the site (sign-in codes, comments, the stats API all count here, each
under its own key prefix). django-ratelimit breaks async views and refuses database caches
(FACTS.md), and a cache would not be shared between web processes; a SQLite row is, and
costs one write.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import NamedTuple

from django.db import connections

from web.db_router import TTL_DB

_UPSERT = """
INSERT INTO core_ratecounter (key, window_start, count, expires_at)
VALUES (%s, %s, 1, %s)
ON CONFLICT(key) DO UPDATE SET
  count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
  window_start = excluded.window_start,
  expires_at = excluded.expires_at
RETURNING count
"""


class Hit(NamedTuple):
    """One counted event: the count in this window, whether it is within the limit, and
    the seconds until the window ends (for a Retry-After header)."""

    count: int
    allowed: bool
    retry_after: int


def count(key: str, *, limit: int, window_s: int, now: float | None = None) -> Hit:
    """Count one event for ``key`` in its current fixed window of ``window_s`` seconds."""
    now = time.time() if now is None else now
    window = int(now // window_s) * window_s
    expires = window + window_s
    with connections[TTL_DB].cursor() as cur:
        cur.execute(_UPSERT, [key, window, expires])
        (n,) = cur.fetchone()
    return Hit(int(n), n <= limit, max(1, int(expires - now)))


def hit(key: str, *, limit: int, window_s: int, now: float | None = None) -> bool:
    """Count one event for ``key``; True while the count in this window is within ``limit``."""
    return count(key, limit=limit, window_s=window_s, now=now).allowed


def purge_expired(*, now: float | None = None) -> int:
    """Delete finished windows (for the ttl cleanup cron job); returns rows deleted."""
    now = time.time() if now is None else now
    with connections[TTL_DB].cursor() as cur:
        cur.execute("DELETE FROM core_ratecounter WHERE expires_at < %s", [int(now)])
        return cur.rowcount


def clean_rate_counters(now: datetime) -> int:
    """ttl cleanup cron job: rate-limit windows that have ended."""
    return purge_expired(now=now.timestamp())
