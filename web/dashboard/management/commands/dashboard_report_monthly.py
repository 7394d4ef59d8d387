"""manage.py dashboard_report_monthly [--dry-run] [--site N --print]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from web.dashboard.reports import report_build, reports_send


class Command(BaseCommand):
    help = "Email the monthly report of every site (or print one with --site N --print)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--site", type=int)
        parser.add_argument("--print", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["print"]:
            subject, body = report_build(site_id=opts["site"] or 1, period="monthly")
            self.stdout.write(subject + "\n\n" + body)
            return
        self.stdout.write(str(reports_send(period="monthly", dry_run=opts["dry_run"])))
