"""The declared job table (GoatCounter-style): name, function, schedule, jitter.

Add one ``Job(...)`` line per job. ``func`` is a plain function; it may accept the
keyword arguments ``dry_run`` and ``progress`` (``manage.py cron_run <name> --dry-run`` needs
``dry_run``), and may return a dict of counts (or an object with ``counts()`` and
``lines()``) that is stored on the run record. Raise ``web.jobs.errors.JobSkipped`` to
record ``skipped: <why>`` instead of a failure.

The table lives in the jobs app, not in ``cron/``: the cron process schedules it, and
``manage.py cron_run`` and each job's own command run it by hand, so an app never has to
import the cron process (scripts/imports.py checks that).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from web.analytics import cron as analytics_cron
from web.backups import cron as backups_cron
from web.core import ttl
from web.dashboard import cron as dashboard_cron
from web.messaging import cron as messaging_cron


@dataclass(frozen=True)
class Job:
    """One line of the table: a plain function and how often cron runs it."""

    name: str
    func: Callable[..., object]
    every: timedelta
    jitter_s: int = 60
    # A ticker runs every few seconds from cron's start, with no catch-up, and records a
    # run only when it fails (a row per success every 15 s would swamp the run history).
    ticker: bool = False


JOBS: list[Job] = [
    Job("ttl cleanup", ttl.ttl_cleanup, every=timedelta(days=1), jitter_s=600),
    Job("backup daily", backups_cron.backup_daily, every=timedelta(days=1), jitter_s=600),
    Job("backup weekly", backups_cron.backup_weekly, every=timedelta(days=7), jitter_s=600),
    Job("backup biweekly", backups_cron.backup_biweekly, every=timedelta(days=14), jitter_s=600),
    Job("analytics retention", analytics_cron.analytics_retention, every=timedelta(days=1)),
    Job(
        "analytics seal",
        analytics_cron.history_tick,
        every=timedelta(seconds=analytics_cron.SEAL_EVERY_S),
        jitter_s=0,
        ticker=True,
    ),
    Job("analytics history upload", analytics_cron.history_upload, every=timedelta(minutes=5)),
    Job("dashboard alerts", dashboard_cron.alerts_check, every=timedelta(minutes=10), jitter_s=30),
    Job("dashboard compact", dashboard_cron.rollups_compact, every=timedelta(hours=1)),
    Job("dashboard report weekly", dashboard_cron.report_weekly, every=timedelta(days=7)),
    Job("dashboard report monthly", dashboard_cron.report_monthly, every=timedelta(days=1)),
    Job("processed jobs trim", messaging_cron.processed_jobs_trim, every=timedelta(days=1)),
]


def job_named(name: str) -> Job:
    """The job called ``name`` (spaces, dashes and underscores are interchangeable)."""
    wanted = name.replace("_", " ").replace("-", " ").strip().lower()
    for job in JOBS:
        if job.name.lower() == wanted:
            return job
    raise KeyError(f"no job {name!r}; jobs: {', '.join(j.name for j in JOBS)}")
