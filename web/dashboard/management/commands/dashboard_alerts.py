"""manage.py dashboard_alerts [--dry-run]: the job "dashboard alerts", run by hand."""

from __future__ import annotations

from typing import Any

from web.jobs.management.jobcommand import JobCommand
from web.jobs.models import JobRun


class Command(JobCommand):
    help = "Check traffic spikes, new issues, dead letters and failed backups; send alerts."
    job_name = "dashboard alerts"

    def report(self, run: JobRun, result: Any) -> None:
        self.stdout.write(str(result))
