"""One path for every job command: each records a run and alerts on failure like cron's."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from web.jobs.models import JobRun
from web.jobs.table import JOBS

# Every job of the table that has its own command (besides `cron_run <job>`).
COMMANDS = {
    "ttl_cleanup": "ttl cleanup",
    "backup_daily": "backup daily",
    "backup_weekly": "backup weekly",
    "backup_biweekly": "backup biweekly",
    "analytics_retention": "analytics retention",
    "dashboard_alerts": "dashboard alerts",
    "dashboard_compact": "dashboard compact",
    "dashboard_report_weekly": "dashboard report weekly",
    "dashboard_report_monthly": "dashboard report monthly",
}


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_every_job_command_records_a_hand_run(settings) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    settings.ENV = dataclasses.replace(settings.ENV, offsite_endpoint="")
    for command in COMMANDS:
        call_command(command, "--dry-run", stdout=io.StringIO())
    runs = {r.job: r for r in JobRun.objects.all()}
    assert set(runs) == set(COMMANDS.values())
    assert all(r.trigger == "hand" and r.dry_run for r in runs.values())
    assert all(r.finished_at is not None for r in runs.values())
    assert runs["analytics retention"].outcome == "ok"
    assert runs["dashboard alerts"].outcome == "ok"
    assert {j.name for j in JOBS} >= set(COMMANDS.values())


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_analytics_retention_command_keeps_its_days_option_and_output() -> None:
    out = io.StringIO()
    call_command("analytics_retention", "--dry-run", "--days", "1", stdout=out)
    assert "analytics_event: would delete 0" in out.getvalue()
    assert "analytics retention (dry run): ok" in out.getvalue()
    run = JobRun.objects.get(job="analytics retention")
    assert run.counts["analytics_event"] == 0


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_a_failing_job_command_is_recorded_and_emailed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from web.dashboard import alerts

    def broken(*, dry_run: bool = False) -> dict[str, int]:
        raise RuntimeError("alert store on fire")

    monkeypatch.setattr(alerts, "alerts_check", broken)
    with pytest.raises(CommandError, match="alert store on fire"):
        call_command("dashboard_alerts", stdout=io.StringIO())
    run = JobRun.objects.get(job="dashboard alerts")
    assert run.outcome == JobRun.FAILED and run.trigger == "hand"
    assert "alert store on fire" in run.error
    assert len(mail.outbox) == 1 and "dashboard alerts" in mail.outbox[0].subject


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_report_print_is_not_a_job_run() -> None:
    from web.analytics.models import Site

    site = Site.objects.create(name="Example", domains=["example.test"])
    out = io.StringIO()
    call_command("dashboard_report_weekly", "--print", "--site", str(site.pk), stdout=out)
    assert out.getvalue().strip()
    assert not JobRun.objects.exists()
