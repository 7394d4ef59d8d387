"""The weekly and monthly report commands differ only in their period."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from web.dashboard.reports import report_build, reports_send


class ReportCommand(BaseCommand):
    """manage.py dashboard_report_<period> [--dry-run] [--site N --print]"""

    period = ""

    @property
    def help(self) -> str:  # type: ignore[override]
        return f"Email the {self.period} report of every site (or print one with --site N --print)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--site", type=int)
        parser.add_argument("--print", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["print"]:
            subject, body = report_build(site_id=opts["site"] or 1, period=self.period)
            self.stdout.write(subject + "\n\n" + body)
            return
        self.stdout.write(str(reports_send(period=self.period, dry_run=opts["dry_run"])))
