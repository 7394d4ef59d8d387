"""manage.py analytics_retention [--days N] [--dry-run]: the job "analytics retention" by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandParser

from web.jobs.management.jobcommand import JobCommand
from web.jobs.models import JobRun


class Command(JobCommand):
    help = (
        "Delete raw analytics events, sessions and issue occurrences older than "
        "HEARTH_ANALYTICS_RETENTION_DAYS, and visitor states and salts older than 48 h. "
        "Rollups and issues are kept."
    )
    job_name = "analytics retention"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--days", type=int, default=None, help="override the retention days")

    def job_func(self, options: dict[str, Any]) -> Callable[..., object] | None:
        days = options["days"]
        self.dry_run = options["dry_run"]

        def retention(*, dry_run: bool = False, **_: object) -> dict[str, int]:
            from web.analytics.services import analytics_retention

            return analytics_retention(days=days, dry_run=dry_run)

        return retention

    def report(self, run: JobRun, result: Any) -> None:
        verb = "would delete" if self.dry_run else "deleted"
        for table, n in result.items():
            self.stdout.write(f"{table}: {verb} {n}")
