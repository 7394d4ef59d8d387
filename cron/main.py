"""Cron entry point: run the job table (web/jobs/table.py) on APScheduler, as Litestream's child.

The process only schedules: the table, the runner that records and alerts, and the run
records are the jobs app's, shared with the job commands.

Schedule: each job runs every ``Job.every`` (plus up to ``jitter_s`` of jitter) counted from
its last-success marker, the newest completed run recorded in data.db. A job whose next run
fell while cron was down is run once, ``CATCHUP_DELAY_S`` after start (coalesced: one run,
however many were missed), then resumes its interval.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import django

log = logging.getLogger("cron")

CATCHUP_DELAY_S = 60
CATCHUP_SPACING_S = 10


def _die_with_parent() -> None:
    """Exit if Litestream (our parent) dies, so that it never leaves an orphan scheduler."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def schedule(
    scheduler: Any,
    jobs: list[Any],
    *,
    now: datetime | None = None,
    catchup_delay_s: float = CATCHUP_DELAY_S,
) -> dict[str, datetime]:
    """Add every job to ``scheduler``; return job name → first run time.

    A job never run, or whose marker + interval is past, gets one "catch-up" run soon;
    its interval then starts from that run. Others start at marker + interval.
    """
    from web.jobs.runner import run_job, run_ticker
    from web.jobs.selectors import job_last_success

    now = now or datetime.now(UTC)
    first_runs: dict[str, datetime] = {}
    overdue = 0
    for job in jobs:
        if job.ticker:
            scheduler.add_job(
                run_ticker,
                "interval",
                seconds=job.every.total_seconds(),
                next_run_time=now + timedelta(seconds=1),
                args=[job],
                id=job.name,
                name=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
            first_runs[job.name] = now + timedelta(seconds=1)
            continue
        last = job_last_success(job=job.name)
        due = (last + job.every) if last else now
        if due <= now:
            first = now + timedelta(seconds=catchup_delay_s + overdue * CATCHUP_SPACING_S)
            overdue += 1
            scheduler.add_job(
                run_job,
                "date",
                run_date=first,
                args=[job],
                kwargs={"trigger": "catch-up"},
                id=f"{job.name}:catch-up",
                name=f"{job.name} (catch-up)",
                misfire_grace_time=None,
            )
            start = first + job.every
            log.info("job %s missed (last success %s): catch-up at %s", job.name, last, first)
        else:
            first = start = due
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.every.total_seconds(),
            jitter=job.jitter_s,
            next_run_time=start,
            args=[job],
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        first_runs[job.name] = first
    return first_runs


def stop_handler(scheduler: Any) -> Callable[[int, object], None]:
    """The SIGTERM/SIGINT handler: stop at once. A job cut short is safe: its run stays
    unfinished and is caught up at the next start.

    A Ctrl-C can reach cron twice (from the terminal's process group, and forwarded by
    `litestream replicate -exec`); the second handler call ran inside the first one's
    shutdown() and printed a SchedulerNotRunningError traceback. So further signals are
    ignored from the first one on, and a scheduler already stopped is fine."""
    from apscheduler.schedulers import SchedulerNotRunningError

    def stop(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log.info("cron stopping (signal %d)", signum)
        with contextlib.suppress(SchedulerNotRunningError):
            scheduler.shutdown(wait=False)
        logging.shutdown()
        os._exit(0)

    return stop


def main() -> None:
    _die_with_parent()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    django.setup()
    from apscheduler.schedulers.blocking import BlockingScheduler

    from web.jobs.services import jobrun_mark_interrupted
    from web.jobs.table import JOBS

    interrupted = jobrun_mark_interrupted()
    if interrupted:
        log.warning("%d job runs were interrupted by the last stop", interrupted)
    scheduler = BlockingScheduler(timezone="UTC")
    first_runs = schedule(scheduler, JOBS)

    stop = stop_handler(scheduler)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for name, when in first_runs.items():
        log.info("job %s: next run %s", name, when.isoformat(timespec="seconds"))
    log.info("cron started with %d jobs", len(JOBS))
    scheduler.start()
