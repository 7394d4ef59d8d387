"""Job functions for web/jobs/table.py. Imports happen inside, so that the job table can be
imported before Django is set up."""

from __future__ import annotations

from typing import Any


def alerts_check(*, dry_run: bool = False, progress: bool = False) -> dict[str, int]:
    """Traffic spikes, new issues, dead letters, failed backups (every 10 minutes)."""
    from web.dashboard.alerts import alerts_check as run

    return run(dry_run=dry_run)


def rollups_compact(*, dry_run: bool = False, progress: bool = False) -> dict[str, int]:
    """Day/month rows for long dashboard ranges (hourly)."""
    from web.dashboard.services import rollups_compact_all

    return rollups_compact_all(dry_run=dry_run)


def report_weekly(*, dry_run: bool = False, progress: bool = False) -> dict[str, Any]:
    from web.dashboard.reports import reports_send

    return reports_send(period="weekly", dry_run=dry_run)


def report_monthly(*, dry_run: bool = False, progress: bool = False) -> dict[str, Any]:
    """Runs daily; sends only on the 1st (UTC) so that the report covers a whole month."""
    from datetime import UTC, datetime

    from web.dashboard.reports import reports_send

    if datetime.now(UTC).day != 1:
        return {"sites": 0, "sent": 0, "skipped_not_first_of_month": 1}
    return reports_send(period="monthly", dry_run=dry_run)
