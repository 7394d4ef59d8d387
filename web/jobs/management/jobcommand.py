"""Base of the job commands: run a declared job by hand, recorded and alerted like cron.

Every job command goes through ``run_declared`` and so through ``web.jobs.runner.run_job``:
a run record, a failure alert, exit status 1 on failure. A command with options of its own
(``analytics_retention --days``) passes a function that closes over them; the run is still
recorded under the job's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from web.jobs.errors import DryRunUnsupported
from web.jobs.models import JobRun
from web.jobs.runner import run_job
from web.jobs.table import job_named


class JobCommand(BaseCommand):
    """``manage.py <job> [--dry-run]``: progress bars, a summary, exit 1 on failure."""

    job_name = ""
    has_workers = False

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be done, change nothing"
        )
        if self.has_workers:
            parser.add_argument("--workers", type=int, default=8, help="parallel copies")

    def job_func(self, options: dict[str, Any]) -> Callable[..., object] | None:
        """The function to run instead of the table's (for command-only options), or None."""
        return None

    def report(self, run: JobRun, result: Any) -> None:
        """Print what the run did (the result's lines, else its counts)."""
        print_result(self, run, result)

    def handle(self, *args: Any, **options: Any) -> None:
        run_declared(self, self.job_name, options, func=self.job_func(options), report=self.report)


def print_result(cmd: BaseCommand, run: JobRun, result: Any) -> None:
    """The default report: ``result.lines()`` when it has them, else one line per count."""
    if hasattr(result, "lines"):
        for line in result.lines():
            cmd.stdout.write(line)
    elif run.counts:
        for key, value in run.counts.items():
            cmd.stdout.write(f"  {key:<24} {value}")


def run_declared(
    cmd: BaseCommand,
    name: str,
    options: dict[str, Any],
    *,
    func: Callable[..., object] | None = None,
    report: Callable[[JobRun, Any], None] | None = None,
) -> None:
    """Run the job called ``name`` once (trigger "hand"); CommandError when it fails."""
    try:
        job = job_named(name)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from exc
    if func is not None:
        job = dataclasses.replace(job, func=func)
    extra = {"workers": options["workers"]} if options.get("workers") else {}
    try:
        run, result = run_job(
            job,
            dry_run=options.get("dry_run", False),
            progress=options.get("verbosity", 1) >= 1,
            trigger="hand",
            options=extra,
        )
    except DryRunUnsupported as exc:
        raise CommandError(str(exc)) from exc
    if run.outcome != JobRun.FAILED:
        (report or (lambda r, res: print_result(cmd, r, res)))(run, result)
    took = (run.finished_at - run.started_at).total_seconds()
    dry = " (dry run)" if run.dry_run else ""
    cmd.stdout.write(f"{job.name}{dry}: {run.outcome} in {took:.1f}s (run {run.pk})")
    if run.outcome == JobRun.FAILED:
        raise CommandError(f"{job.name} failed:\n{run.error}")
