"""manage.py analytics_export --from D --to D [--site N] [--format parquet|csv] PATH"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from web.analytics.history import services as hs


def _day(text: str) -> datetime:
    try:
        d = date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from exc
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Write the raw events of a date range (UTC days, inclusive) from the columnar history "
        "to a Parquet or CSV file: one row per event with its visit's attributes "
        "(schema in docs/architecture/analytics.md, 'SQL over your own analytics')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="output file (.parquet or .csv)")
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--site", type=int, default=None, help="one site's events only")
        parser.add_argument(
            "--format", choices=("parquet", "csv"), default=None, help="default: by suffix"
        )

    def handle(self, *args: object, **o: object) -> None:
        path = Path(str(o["path"])).expanduser()
        fmt = o["format"] or ("csv" if path.suffix.lower() == ".csv" else "parquet")
        start, end = _day(str(o["start"])), _day(str(o["end"])) + timedelta(days=1)
        if end <= start:
            raise CommandError("--to is before --from")
        if not path.parent.is_dir():
            raise CommandError(f"no such directory: {path.parent}")
        site = o["site"]
        rows = hs.history_export(
            path=path,
            start=start,
            end=end,
            site_id=site if isinstance(site, int) else None,
            fmt=str(fmt),
        )
        self.stdout.write(f"wrote {rows} events to {path} ({fmt})")
