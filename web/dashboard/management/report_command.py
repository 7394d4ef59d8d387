"""The weekly and monthly report commands differ only in their period."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from web.jobs.management.jobcommand import JobCommand
from web.jobs.models import JobRun


class ReportCommand(JobCommand):
    """manage.py dashboard_report_<period> [--dry-run] [--site N --print]

    Without --print it is the job "dashboard report <period>", recorded and alerted like
    cron's run; --print only shows one site's report and sends nothing."""

    period = ""

    @property
    def job_name(self) -> str:  # type: ignore[override]
        return f"dashboard report {self.period}"

    @property
    def help(self) -> str:  # type: ignore[override]
        return f"Email the {self.period} report of every site (or print one with --site N --print)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--site", type=int)
        parser.add_argument("--print", action="store_true")

    def report(self, run: JobRun, result: Any) -> None:
        self.stdout.write(str(result))

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["print"]:
            from web.dashboard.reports import report_build

            subject, body = report_build(site_id=opts["site"] or 1, period=self.period)
            self.stdout.write(subject + "\n\n" + body)
            return
        super().handle(*args, **opts)
