"""Base of the per-job management commands: run a declared job by hand, recorded like cron."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


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

    def handle(self, *args: Any, **options: Any) -> None:
        run_declared(self, self.job_name, options)


def run_declared(cmd: BaseCommand, name: str, options: dict[str, Any]) -> None:
    from cron.jobs import job_named
    from cron.runner import DryRunUnsupported, run_job

    try:
        job = job_named(name)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from exc
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
    if hasattr(result, "lines"):
        for line in result.lines():
            cmd.stdout.write(line)
    elif run.counts:
        for key, value in run.counts.items():
            cmd.stdout.write(f"  {key:<24} {value}")
    took = (run.finished_at - run.started_at).total_seconds()
    dry = " (dry run)" if run.dry_run else ""
    cmd.stdout.write(f"{job.name}{dry}: {run.outcome} in {took:.1f}s (run {run.pk})")
    if run.outcome == "failed":
        raise CommandError(f"{job.name} failed:\n{run.error}")
