"""Reads of the jobs context: run history and the last-success marker."""

from __future__ import annotations

from datetime import datetime

from web.jobs.models import JobRun


def jobruns_recent(*, job: str | None = None, limit: int = 20) -> list[JobRun]:
    """The newest runs (of one job, or of all), newest first."""
    qs = JobRun.objects.all()
    if job:
        qs = qs.filter(job=job)
    return list(qs.order_by("-started_at")[:limit])


def job_last_success(*, job: str) -> datetime | None:
    """The last-success marker cron uses for catch-up: end of the newest completed run."""
    run = JobRun.objects.completed().filter(job=job).order_by("-finished_at").first()
    return run.finished_at if run else None
