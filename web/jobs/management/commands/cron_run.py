"""`manage.py cron_run <job> [--dry-run]`: run any job of the job table by hand (--list)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from web.jobs.management.jobcommand import run_declared


class Command(BaseCommand):
    help = "Run one job of the cron table now (recorded like a cron run), or list jobs and runs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("job", nargs="?", help='job name, e.g. "ttl cleanup" or ttl_cleanup')
        parser.add_argument("--dry-run", action="store_true", help="change nothing")
        parser.add_argument("--list", action="store_true", help="list jobs and last runs")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"] or not options["job"]:
            self._list()
            return
        if not options["job"]:
            raise CommandError("name a job, or pass --list")
        run_declared(self, options["job"], options)

    def _list(self) -> None:
        from web.jobs.selectors import job_last_success, jobruns_recent
        from web.jobs.table import JOBS

        w = self.stdout.write
        w(f"{'job':<20} {'every':>10} {'last success':<26} last outcome")
        for job in JOBS:
            last = job_last_success(job=job.name)
            runs = jobruns_recent(job=job.name, limit=1)
            outcome = runs[0].outcome if runs else "never run"
            when = last.isoformat(timespec="seconds") if last else "-"
            w(f"{job.name:<20} {job.every!s:>10} {when:<26} {outcome}")
