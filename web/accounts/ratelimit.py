"""Fixed-window rate limits: one UPSERT per hit on a tiny table in ttl.db.

django-ratelimit breaks async views and refuses database caches (FACTS.md), and a cache
would not be shared between web processes; a SQLite row is, and costs one write.
"""

from __future__ import annotations

import time

from django.db import connections

from web.db_router import TTL_DB

_UPSERT = """
INSERT INTO accounts_ratecounter (key, window_start, count, expires_at)
VALUES (%s, %s, 1, %s)
ON CONFLICT(key) DO UPDATE SET
  count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
  window_start = excluded.window_start,
  expires_at = excluded.expires_at
RETURNING count
"""


def hit(key: str, *, limit: int, window_s: int, now: float | None = None) -> bool:
    """Count one event for `key`; True while the count in this window is within `limit`."""
    now = time.time() if now is None else now
    window = int(now // window_s) * window_s
    with connections[TTL_DB].cursor() as cur:
        cur.execute(_UPSERT, [key, window, window + window_s])
        (count,) = cur.fetchone()
    return count <= limit


def purge_expired(*, now: float | None = None) -> int:
    """Delete finished windows (for the ttl cleanup cron job); returns rows deleted."""
    now = time.time() if now is None else now
    with connections[TTL_DB].cursor() as cur:
        cur.execute("DELETE FROM accounts_ratecounter WHERE expires_at < %s", [int(now)])
        return cur.rowcount
