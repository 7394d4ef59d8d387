"""manage.py dashboard_seed --events 1000000 --days 365 [--site 1] [--raw]"""

from __future__ import annotations

import argparse
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, DjangoHelpFormatter

from web.dashboard.seed import traffic_seed
from web.dashboard.services import rollups_compact


class _HelpFormatter(DjangoHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Django's option order (ours first), each option's default shown in --help."""


class Command(BaseCommand):
    help = (
        "Seed synthetic traffic for demos and benchmarks: visits shaped by hour and weekday, "
        "pages, sources, countries, devices, custom events and two goals (Signup, Pricing "
        "visit), written as the analytics worker writes them. By default only the rollups "
        "the dashboard reads; --raw also writes the visits and events (needed for filtered "
        "views, funnels and exports). It adds to what is there: run it once on a fresh site. "
        "Example: manage.py dashboard_seed --events 1000000 --days 365 --raw"
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", type=int, default=1, help="id of the site to seed")
        parser.add_argument(
            "--events",
            type=int,
            default=100_000,
            help="about how many raw events (pageviews, engagement and custom events) "
            "the simulated visits produce",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=30,
            help="UTC days ending today to spread them over (hours after now stay empty)",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed: the same seed gives the same data"
        )
        parser.add_argument(
            "--raw",
            action="store_true",
            help="also write the visits and events (filtered views, funnels and exports read them)",
        )
        parser.add_argument(
            "--no-compact",
            action="store_true",
            help="skip rebuilding the day/month rollups afterwards (the dashboard is slower "
            "on long ranges until the nightly compaction runs)",
        )

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
