"""Run one declared job: record it in data.db, and alert (live event + email) when it fails.

The one path every job takes, whoever starts it: the cron process (``cron/main.py``), a
job's own management command and ``cron_run`` (``web/jobs/management/jobcommand.py``).
"""

from __future__ import annotations

import inspect
import logging
import traceback
from typing import TYPE_CHECKING, Any

from django.db import close_old_connections

from web.jobs.errors import DryRunUnsupported, JobSkipped
from web.jobs.models import JobRun
from web.jobs.services import jobrun_finish, jobrun_start

if TYPE_CHECKING:
    from web.jobs.table import Job

log = logging.getLogger("cron")

ALERT_SUBJECT = "events.alerts.cron"


def _call(job: Job, options: dict[str, Any]) -> Any:
    params = inspect.signature(job.func).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in options.items() if takes_any or k in params}
    return job.func(**kwargs)


def _counts(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if hasattr(result, "counts"):
        return dict(result.counts())
    if isinstance(result, dict):
        return dict(result)
    return {"result": str(result)}


def supports_dry_run(job: Job) -> bool:
    """Whether the job's function accepts ``dry_run`` (or any keyword)."""
    params = inspect.signature(job.func).parameters
    return "dry_run" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


def run_job(
    job: Job,
    *,
    dry_run: bool = False,
    progress: bool = False,
    trigger: str = "cron",
    options: dict[str, Any] | None = None,
) -> tuple[JobRun, Any]:
    """Run ``job`` once and record it; return (run record, the job's result).

    Never raises for a failing job (the failure is recorded, logged and alerted), so the
    scheduler keeps running. Raises DryRunUnsupported before recording anything when a
    dry run is asked of a job that cannot do one.
    """
    if dry_run and not supports_dry_run(job):
        raise DryRunUnsupported(f"job {job.name!r} has no dry run")
    close_old_connections()
    run = jobrun_start(job=job.name, dry_run=dry_run, trigger=trigger)
    result: Any = None
    try:
        opts = dict(options or {})
        if dry_run:
            opts["dry_run"] = True
        opts["progress"] = progress
        result = _call(job, opts)
        jobrun_finish(run=run, outcome=JobRun.OK, counts=_counts(result))
        log.info("job %s ok: %s", job.name, run.counts)
    except JobSkipped as exc:
        jobrun_finish(run=run, outcome=f"{JobRun.SKIPPED}: {exc}")
        log.warning("job %s skipped: %s", job.name, exc)
    except Exception as exc:  # a job's failure must never stop the scheduler
        jobrun_finish(run=run, outcome=JobRun.FAILED, error=traceback.format_exc()[-4000:])
        log.error("job %s failed: %s", job.name, exc)
        alert_failure(run=run, exc=exc)
    finally:
        close_old_connections()
    return run, result


_ticker_failing: set[str] = set()


def run_ticker(job: Job) -> None:
    """Run a frequent job (``Job.ticker``): nothing is recorded while it succeeds; its first
    failure after a success is recorded and alerted like any job's, later ones only logged,
    so a broken ticker alerts once, not every few seconds."""
    close_old_connections()
    try:
        _call(job, {})
        if job.name in _ticker_failing:
            log.info("job %s recovered", job.name)
        _ticker_failing.discard(job.name)
    except Exception as exc:  # a job's failure must never stop the scheduler
        log.error("job %s failed: %s", job.name, exc)
        if job.name not in _ticker_failing:
            _ticker_failing.add(job.name)
            run = jobrun_start(job=job.name, dry_run=False, trigger="cron")
            jobrun_finish(run=run, outcome=JobRun.FAILED, error=traceback.format_exc()[-4000:])
            alert_failure(run=run, exc=exc)
    finally:
        close_old_connections()


def alert_failure(*, run: JobRun, exc: BaseException) -> None:
    """Publish ``events.alerts.cron`` and email the admins; neither may raise."""
    data = {
        "job": run.job,
        "run_id": run.pk,
        "error": f"{type(exc).__name__}: {exc}"[:500],
        "started_at": run.started_at.isoformat(),
    }
    from web.live.publish import publish_best_effort  # imported when a job fails, not at start

    publish_best_effort(ALERT_SUBJECT, data, id=f"cron-run-{run.pk}")  # NATS down: email still goes
    try:
        from django.core.mail import mail_admins

        mail_admins(
            f"cron job {run.job!r} failed",
            f"Job {run.job} (run {run.pk}) started {run.started_at:%Y-%m-%d %H:%M:%S} UTC "
            f"failed:\n\n{run.error}\n\nSee `manage.py cron_run --list` for recent runs.",
        )
    except Exception as mail_exc:  # an unreachable mail server must not kill cron
        log.warning("could not email the cron failure: %s", mail_exc)
