"""ttl.db beside its router: the cleanup registry, each app registering how to delete its
expired rows, and the daily ``ttl cleanup`` job that runs them.

(The router, ``web/db_router.py``, decides which models live in ttl.db; this module empties
them. It moved here from the backups app in issue 18, item 1.)

An app calls ``register_cleaner("accounts.codes", fn)`` from its ``AppConfig.ready()``;
``fn(now) -> int`` deletes what expired before ``now`` and returns how many rows it deleted.
The daily ``ttl cleanup`` job runs every cleaner; a dry run runs them inside a transaction
that is rolled back, so its counts are exact and nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction

Cleaner = Callable[[datetime], int]

CLEANERS: dict[str, Cleaner] = {}

# django-eventstream keeps 24 h of replay (its EVENT_TIMEOUT); older rows are dead weight.
EVENTSTREAM_REPLAY = timedelta(hours=24)


def register_cleaner(label: str, cleaner: Cleaner) -> None:
    """Declare a cleaner; registering the same label again replaces it (idempotent ready())."""
    CLEANERS[label] = cleaner


def clean_sessions(now: datetime) -> int:
    """Django sessions whose expiry date has passed."""
    from django.contrib.sessions.models import Session

    deleted, _ = Session.objects.filter(expire_date__lt=now).delete()
    return deleted


def clean_eventstream(now: datetime) -> int:
    """SSE replay rows older than the replay window (EventCounter rows are kept)."""
    from django_eventstream.models import Event

    deleted, _ = Event.objects.filter(created__lt=now - EVENTSTREAM_REPLAY).delete()
    return deleted


def run_cleaners(*, now: datetime, dry_run: bool = False) -> dict[str, int]:
    """Run every registered cleaner, each in its own ttl.db transaction; return label → rows.

    A cleaner that raises stops the run (the runner records and alerts it): a half-done
    cleanup is harmless, a silently skipped one is not.
    """
    counts: dict[str, int] = {}
    for label, cleaner in sorted(CLEANERS.items()):
        with transaction.atomic(using="ttl"), transaction.atomic(using="default"):
            counts[label] = int(cleaner(now))
            if dry_run:
                transaction.set_rollback(True, using="ttl")
                transaction.set_rollback(True, using="default")
    return counts


def ttl_cleanup(*, dry_run: bool = False, progress: bool = False) -> dict[str, int]:
    """The job "ttl cleanup": delete expired rows of ttl.db through every registered cleaner."""
    from django.utils import timezone

    return run_cleaners(now=timezone.now(), dry_run=dry_run)


register_cleaner("sessions", clean_sessions)
register_cleaner("eventstream", clean_eventstream)
