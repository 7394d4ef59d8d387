"""Job run records (data.db): every cron or hand run of a declared job leaves one row."""

from __future__ import annotations

from django.db import models


class JobRunQuerySet(models.QuerySet["JobRun"]):
    def completed(self) -> JobRunQuerySet:
        """Runs that count for the schedule: finished ok or skipped, not dry runs."""
        return self.filter(dry_run=False, finished_at__isnull=False).filter(
            models.Q(outcome=JobRun.OK) | models.Q(outcome__startswith=JobRun.SKIPPED)
        )


class JobRun(models.Model):
    """One run of a declared job: start, end, outcome, counts, error.

    ``outcome`` is ``running`` while the job runs, then ``ok``, ``failed`` or
    ``skipped: <reason>``. The newest completed run of a job is its last-success marker,
    which cron uses to catch up a run missed while it was down.

    The table keeps the name it had in the backups app (``backups_jobrun``): the model moved
    (issue 18, item 1), the rows did not, and a restored database from before the move
    reads the same.
    """

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"

    job = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, default=RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    dry_run = models.BooleanField(default=False)
    trigger = models.CharField(max_length=20, default="cron")  # cron | catch-up | hand

    objects = JobRunQuerySet.as_manager()

    class Meta:
        db_table = "backups_jobrun"
        indexes = [models.Index(fields=["job", "-started_at"], name="jobrun_job_started")]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.job} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"
