"""Cron entry point: set up Django and run the job table on a blocking scheduler."""

from __future__ import annotations

import ctypes
import logging
import os
import signal

import django

log = logging.getLogger("cron")


def _die_with_parent() -> None:
    """Exit if Litestream (our parent) dies, so that it never leaves an orphan scheduler."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def main() -> None:
    _die_with_parent()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    django.setup()
    from apscheduler.schedulers.blocking import BlockingScheduler

    from cron.jobs import JOBS

    scheduler = BlockingScheduler(timezone="UTC")
    for job in JOBS:
        scheduler.add_job(
            job.func,
            "interval",
            seconds=job.every.total_seconds(),
            jitter=job.jitter_s,
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
        )

    def stop(signum: int, _frame: object) -> None:
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("cron started with %d jobs", len(JOBS))
    scheduler.start()
