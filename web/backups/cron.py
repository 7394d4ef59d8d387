"""Job functions of the backups app for the job table (web/jobs/table.py).

Imports happen inside the functions so that the job table can be imported before Django
is set up.
"""

from __future__ import annotations

from typing import Any


def backup_daily(*, dry_run: bool = False, progress: bool = False, workers: int = 8) -> Any:
    """Incremental copy of the local buckets to offsite ``daily/``."""
    from django.conf import settings

    from web.backups.offsite import backup_daily as run

    return run(env=settings.ENV, dry_run=dry_run, progress=progress, workers=workers)


def _promote(source: str, dest: str, dry_run: bool, progress: bool, workers: int) -> Any:
    from django.conf import settings

    from web.backups.offsite import tier_promote

    return tier_promote(
        env=settings.ENV,
        source=source,
        dest=dest,
        dry_run=dry_run,
        progress=progress,
        workers=workers,
    )


def backup_weekly(*, dry_run: bool = False, progress: bool = False, workers: int = 8) -> Any:
    """Promote ``daily/`` to ``1-week/`` with server-side copies."""
    return _promote("daily", "1-week", dry_run, progress, workers)


def backup_biweekly(*, dry_run: bool = False, progress: bool = False, workers: int = 8) -> Any:
    """Promote ``1-week/`` to ``2-week/`` with server-side copies."""
    return _promote("1-week", "2-week", dry_run, progress, workers)
