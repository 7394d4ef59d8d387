"""manage.py analytics_seal [--all]: seal raw events into the columnar history now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from web.analytics.history import services as hs


class Command(BaseCommand):
    help = (
        "Copy raw events not yet in the columnar history into Parquet segments and merge "
        "small segments (cron does this every 15 s). --all seals the whole backlog with a "
        "progress bar (after an upgrade or a restore)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="seal the whole backlog")

    def handle(self, *args: object, all: bool, **opts: object) -> None:
        counts = hs.history_seal_all(progress=True) if all else hs.history_tick()
        for key, n in counts.items():
            self.stdout.write(f"{key}: {n}")
