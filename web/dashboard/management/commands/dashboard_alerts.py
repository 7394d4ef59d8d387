"""manage.py dashboard_alerts [--dry-run]: run the alert checks once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from web.dashboard.alerts import alerts_check


class Command(BaseCommand):
    help = "Check traffic spikes, new issues, dead letters and failed backups; send alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.stdout.write(str(alerts_check(dry_run=opts["dry_run"])))
