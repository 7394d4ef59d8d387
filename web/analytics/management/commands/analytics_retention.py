"""manage.py analytics_retention [--days N] [--dry-run]: delete expired raw analytics."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from web.analytics.services import analytics_retention


class Command(BaseCommand):
    help = (
        "Delete raw analytics events, sessions and issue occurrences older than "
        "HEARTH_ANALYTICS_RETENTION_DAYS, and visitor states and salts older than 48 h. "
        "Rollups and issues are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="override the retention days")
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args: object, days: int | None, dry_run: bool, **opts: object) -> None:
        counts = analytics_retention(days=days, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for table, n in counts.items():
            self.stdout.write(f"{table}: {verb} {n}")
