"""Cron entry points of the analytics domain (declared in cron/jobs.py).

Imports are lazy so that the job table can be imported before Django is set up."""

from __future__ import annotations


def analytics_retention(*, dry_run: bool = False) -> dict[str, int]:
    """Daily: delete raw analytics past HEARTH_ANALYTICS_RETENTION_DAYS (rollups stay)."""
    from web.analytics.services import analytics_retention as run

    return run(dry_run=dry_run)
