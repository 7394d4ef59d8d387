"""manage.py dashboard_compact [--rebuild] [--dry-run]: the job "dashboard compact" by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandParser

from web.jobs.management.jobcommand import JobCommand
from web.jobs.models import JobRun


class Command(JobCommand):
    help = "Sum hourly rollups into day/month rows for long dashboard ranges."
    job_name = "dashboard compact"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--rebuild", action="store_true")

    def job_func(self, options: dict[str, Any]) -> Callable[..., object] | None:
        if not options["rebuild"] or options["dry_run"]:
            return None  # the table's function

        def rebuild_all(**_: object) -> dict[str, Any]:
            from web.analytics.models import Site
            from web.dashboard.services import rollups_compact

            return {
                str(site_id): rollups_compact(site_id=site_id, rebuild=True)
                for site_id in Site.objects.values_list("pk", flat=True)
            }

        return rebuild_all

    def report(self, run: JobRun, result: Any) -> None:
        if self.options["rebuild"] and not self.options["dry_run"]:
            for site_id, done in result.items():
                self.stdout.write(f"site {site_id}: {done}")
            return
        self.stdout.write(str(result))

    def handle(self, *args: Any, **options: Any) -> None:
        self.options = options
        super().handle(*args, **options)
