"""Cron entry points of the analytics domain (declared in web/jobs/table.py).

Imports are lazy so that the job table can be imported before Django is set up."""

from __future__ import annotations


def analytics_retention(*, dry_run: bool = False) -> dict[str, int]:
    """Daily: delete raw analytics past HEARTH_ANALYTICS_RETENTION_DAYS (rollups stay)."""
    from web.analytics.services import analytics_retention as run

    return run(dry_run=dry_run)


SEAL_EVERY_S = 15  # events reach filtered views within this + a seal's time (analytics.md)


def history_tick() -> dict[str, int]:
    """Every 15 s: seal new raw events into the columnar history, merge, collect garbage."""
    from web.analytics.history.services import history_tick as run

    return run()


def history_upload(*, dry_run: bool = False) -> dict[str, int]:
    """Every 5 minutes: copy new history segments to the backup bucket (offsite follows)."""
    from web.analytics.history.services import history_upload as run

    if dry_run:
        from web.analytics.models import Segment

        return {"would_upload": Segment.objects.filter(uploaded=False).count()}
    return run()
