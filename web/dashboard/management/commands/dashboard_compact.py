"""manage.py dashboard_compact [--rebuild] [--dry-run]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from web.analytics.models import Site
from web.dashboard.services import rollups_compact, rollups_compact_all


class Command(BaseCommand):
    help = "Sum hourly rollups into day/month rows for long dashboard ranges."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["rebuild"] and not opts["dry_run"]:
            for site_id in Site.objects.values_list("pk", flat=True):
                self.stdout.write(
                    f"site {site_id}: {rollups_compact(site_id=site_id, rebuild=True)}"
                )
            return
        self.stdout.write(str(rollups_compact_all(dry_run=opts["dry_run"])))
