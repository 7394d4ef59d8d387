"""manage.py dashboard_seed --events 1000000 --days 365 [--site 1] [--raw]"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from web.dashboard.seed import traffic_seed
from web.dashboard.services import rollups_compact


class Command(BaseCommand):
    help = "Seed synthetic traffic (rollups; --raw also visits and events), with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", type=int, default=1)
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--raw", action="store_true", help="also write sessions and events")
        parser.add_argument("--no-compact", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.monotonic()
        counts = traffic_seed(
            site_id=opts["site"],
            events=opts["events"],
            days=opts["days"],
            raw=opts["raw"],
            seed=opts["seed"],
            progress=True,
        )
        if not opts["no_compact"]:
            counts.update(rollups_compact(site_id=opts["site"], rebuild=True))
        took = time.monotonic() - started
        self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()) + f" seconds={took:.1f}")
