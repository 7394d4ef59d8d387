"""Writes of the jobs context: the run records a job leaves."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from web.jobs.models import JobRun

CRON_INTERRUPTED = "failed: interrupted (cron stopped)"


def jobrun_start(*, job: str, dry_run: bool = False, trigger: str = "cron") -> JobRun:
    """Open a run record (outcome ``running``)."""
    return JobRun.objects.create(
        job=job, started_at=timezone.now(), dry_run=dry_run, trigger=trigger
    )


def jobrun_finish(
    *, run: JobRun, outcome: str, counts: dict[str, Any] | None = None, error: str = ""
) -> JobRun:
    """Close a run record with its outcome, counts and error text."""
    run.finished_at = timezone.now()
    run.outcome = outcome[:300]
    run.counts = counts or {}
    run.error = error
    run.save(update_fields=["finished_at", "outcome", "counts", "error"])
    return run


def jobrun_mark_interrupted() -> int:
    """Close runs left ``running`` by a stopped cron, so the history tells the truth.
    (A run open in a restored database was closed by the restore already, as
    ``web.backups.restore.RESTORE_INTERRUPTED``: it is not this box's cron that stopped it.)"""
    return JobRun.objects.filter(outcome=JobRun.RUNNING, finished_at__isnull=True).update(
        outcome=CRON_INTERRUPTED, finished_at=timezone.now()
    )
