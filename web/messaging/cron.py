"""Cron entry points of the messaging context (declared in web/jobs/table.py)."""

from __future__ import annotations

from datetime import timedelta

from web.messaging import services
from web.messaging.models import ProcessedJob


def processed_jobs_trim(*, dry_run: bool = False) -> dict[str, int]:
    """Forget processed job ids older than a week (far past any redelivery)."""
    if dry_run:
        from django.utils import timezone

        cutoff = timezone.now() - timedelta(days=7)
        return {"would_delete": ProcessedJob.objects.filter(processed_at__lt=cutoff).count()}
    return {"deleted": services.processed_jobs_trim(older_than=timedelta(days=7))}
