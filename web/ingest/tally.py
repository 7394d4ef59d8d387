"""Per-process beacon counts the owner can see: accepted, dropped by reason, refused.

The request path only bumps a dict (no I/O). Every FLUSH_S seconds a background task swaps
the dict out and adds it to ``ingest_beaconcount`` in ttl.db with one UPSERT per row, in a
thread (``asyncio.to_thread``), so the owner's site page shows the last hour by reason and
the keys and domains refused recently (issue 16 item 1, issue 17 item 8).

Refused values come from the internet: each is cut to 120 characters and at most
MAX_REFUSED distinct values are kept between flushes (the rest count as ``other``), so
garbage cannot grow the dict or the table without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)

FLUSH_S = 10.0
MAX_REFUSED = 100
MAX_VALUE = 120
KEEP_HOURS = 48

Key = tuple[int, int, str, str]  # hour, site id, outcome, detail

_UPSERT = """
INSERT INTO ingest_beaconcount (hour, site_id, outcome, detail, count, last_at)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT(hour, site_id, outcome, detail) DO UPDATE SET
  count = count + excluded.count,
  last_at = excluded.last_at
"""


def hour_of(ts: float) -> int:
    return int(ts // 3600) * 3600


class Tally:
    """Counts since the last flush; ``clock`` is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.counts: Counter[Key] = Counter()
        self.refused_values = 0
        self._clock = clock
        # Bumps run on the event loop, flushes in a thread (or the admin's request thread):
        # the lock keeps a bump from landing in a dict already written. Uncontended: ~0.1 µs.
        self._lock = threading.Lock()

    def accepted(self, site_id: int, n: int = 1) -> None:
        with self._lock:
            self.counts[(hour_of(self._clock()), site_id, "accepted", "")] += n

    def dropped(self, site_id: int, reason: str, n: int = 1) -> None:
        with self._lock:
            self.counts[(hour_of(self._clock()), site_id, "dropped", reason[:MAX_VALUE])] += n

    def refused(self, how: str, value: str) -> None:
        """A beacon refused because it names no known site (``how``: key, host, alias)."""
        kind = {"host": "domain"}.get(how, how)
        detail = f"{kind}:{value[:MAX_VALUE]}"
        key = (hour_of(self._clock()), 0, "refused", detail)
        with self._lock:
            if key not in self.counts:
                if self.refused_values >= MAX_REFUSED:
                    key = (key[0], 0, "refused", f"{kind}:(other)")
                else:
                    self.refused_values += 1
            self.counts[key] += 1

    def take(self) -> Counter[Key]:
        """The counts so far, and start again from zero."""
        with self._lock:
            counts, self.counts, self.refused_values = self.counts, Counter(), 0
        return counts

    def flush_now(self, *, background: bool = True) -> int:
        """Write the counts to ttl.db (sync: call in a thread); returns rows written.

        On a database error the counts are put back, to be retried at the next flush.
        ``background``: this thread's connections are closed after (not in a request).
        """
        counts = self.take()
        if not counts:
            return 0
        try:
            write(counts, now=self._clock(), close=background)
        except Exception:
            with self._lock:
                for key, n in counts.items():
                    self.counts[key] += n
            raise
        return len(counts)

    async def run(self, every: float = FLUSH_S) -> None:
        """Flush every ``every`` seconds until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(every)
                try:
                    await asyncio.to_thread(self.flush_now)
                except Exception:
                    log.exception("ingest: writing beacon counts failed; kept for the next try")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.flush_now)


def write(counts: Counter[Key], *, now: float, close: bool = True) -> None:
    """Add counts to their hourly rows in one ttl.db transaction."""
    from django.db import close_old_connections, connections, transaction

    from web.db_router import TTL_DB

    rows = [(h, site, outcome, detail, n, now) for (h, site, outcome, detail), n in counts.items()]
    try:
        with transaction.atomic(using=TTL_DB), connections[TTL_DB].cursor() as cur:
            cur.executemany(_UPSERT, rows)
    finally:
        if close:
            close_old_connections()


def clean_counts(now: datetime) -> int:
    """ttl cleanup: delete hourly rows older than KEEP_HOURS."""
    from web.ingest.models import BeaconCount

    cutoff = hour_of(now.timestamp()) - KEEP_HOURS * 3600
    deleted, _ = BeaconCount.objects.filter(hour__lt=cutoff).delete()
    return deleted


TALLY = Tally()
