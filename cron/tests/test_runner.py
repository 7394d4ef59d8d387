"""Cron: catch-up after downtime, run records, failure alerts, skipped jobs, commands."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta

import nats
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from django.core import mail
from django.core.management import call_command

from cron.main import schedule
from web.core.testing import wait_until
from web.jobs.models import JobRun
from web.jobs.runner import run_job
from web.jobs.table import JOBS, Job, job_named


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_missed_job_runs_exactly_once_after_downtime() -> None:
    calls: list[datetime] = []

    def counted() -> dict[str, int]:
        calls.append(datetime.now(UTC))
        return {"rows": 1}

    job = Job("catchup probe", counted, every=timedelta(days=1), jitter_s=0)
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    JobRun.objects.create(
        job=job.name, started_at=three_days_ago, finished_at=three_days_ago, outcome="ok"
    )
    # Three runs were missed while cron was down: one catch-up run, then the interval.
    scheduler = BackgroundScheduler(timezone="UTC")
    first = schedule(scheduler, [job], catchup_delay_s=0.2)
    assert first[job.name] <= datetime.now(UTC) + timedelta(seconds=1)
    scheduler.start()
    try:
        assert wait_until(
            lambda: JobRun.objects.filter(job=job.name, outcome="ok").count() == 2, timeout=10.0
        )
        time.sleep(1.0)  # a second (wrong) run would land in this window
    finally:
        scheduler.shutdown(wait=True)
    assert len(calls) == 1
    run = JobRun.objects.filter(job=job.name).order_by("-started_at").first()
    assert run is not None and run.trigger == "catch-up" and run.counts == {"rows": 1}

    # Restarted right after: the marker is fresh, so nothing runs until a day later.
    scheduler = BackgroundScheduler(timezone="UTC")
    first = schedule(scheduler, [job], catchup_delay_s=0.2)
    assert first[job.name] > datetime.now(UTC) + timedelta(hours=23)
    scheduler.start()
    try:
        time.sleep(0.8)
    finally:
        scheduler.shutdown(wait=True)
    assert len(calls) == 1
    assert JobRun.objects.filter(job=job.name).count() == 2


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_job_not_yet_due_is_not_caught_up() -> None:
    job = Job("fresh probe", lambda: None, every=timedelta(days=1), jitter_s=0)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    JobRun.objects.create(
        job=job.name, started_at=an_hour_ago, finished_at=an_hour_ago, outcome="ok"
    )
    # A failed run is not a success marker; a dry run neither.
    JobRun.objects.create(
        job=job.name, started_at=an_hour_ago, finished_at=datetime.now(UTC), outcome="failed"
    )
    scheduler = BackgroundScheduler(timezone="UTC")
    first = schedule(scheduler, [job], catchup_delay_s=0.2)
    assert abs((first[job.name] - (an_hour_ago + timedelta(days=1))).total_seconds()) < 1
    assert [j.id for j in scheduler.get_jobs()] == [job.name]


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_failed_job_is_recorded_published_and_emailed(settings, nats_server) -> None:  # type: ignore[no-untyped-def]
    settings.ENV = dataclasses.replace(settings.ENV, nats_url=nats_server.url)
    received: list[bytes] = []
    subscribed = threading.Event()

    async def listen() -> None:
        nc = await nats.connect(nats_server.url)
        sub = await nc.subscribe("events.alerts.cron")
        subscribed.set()
        try:
            msg = await sub.next_msg(timeout=10)
            received.append(msg.data)
        finally:
            await nc.close()

    listener = threading.Thread(target=lambda: asyncio.run(listen()))
    listener.start()
    assert subscribed.wait(10)

    def broken() -> None:
        raise RuntimeError("disk on fire")

    run, _ = run_job(Job("broken probe", broken, every=timedelta(days=1)))
    listener.join(15)

    run.refresh_from_db()
    assert run.outcome == "failed" and run.finished_at is not None
    assert "disk on fire" in run.error
    assert len(mail.outbox) == 1
    assert "broken probe" in mail.outbox[0].subject
    assert "disk on fire" in mail.outbox[0].body
    assert received and b"disk on fire" in received[0] and b"broken probe" in received[0]


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_daily_backup_without_offsite_is_skipped_not_failed(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENV = dataclasses.replace(settings.ENV, offsite_endpoint="")
    run, _ = run_job(job_named("backup daily"))
    run.refresh_from_db()
    assert run.outcome == "skipped: HEARTH_OFFSITE_ENDPOINT unset"
    assert run.error == ""
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True, databases=["default", "ttl"])
def test_every_job_is_a_command_with_dry_run(settings, capsys) -> None:  # type: ignore[no-untyped-def]
    settings.ENV = dataclasses.replace(settings.ENV, offsite_endpoint="")
    for command in ("ttl_cleanup", "backup_daily", "backup_weekly", "backup_biweekly"):
        call_command(command, "--dry-run")
    call_command("cron_run", "ttl cleanup", "--dry-run")
    out = capsys.readouterr().out
    assert "ttl cleanup (dry run): ok" in out
    assert "backup weekly (dry run): skipped: HEARTH_OFFSITE_ENDPOINT unset" in out
    runs = JobRun.objects.all()
    assert runs.count() == 5 and all(r.dry_run for r in runs)
    assert {r.job for r in runs} == {
        "ttl cleanup",
        "backup daily",
        "backup weekly",
        "backup biweekly",
    }


def test_job_table_contract() -> None:
    """Every declared job has a unique name, a sane schedule, and a --dry-run (tickers, which
    run every few seconds and are not recorded, need neither a minute nor a dry run)."""
    from web.jobs.runner import supports_dry_run

    names = [j.name for j in JOBS]
    assert len(names) == len(set(names))
    for job in JOBS:
        least = timedelta(seconds=5) if job.ticker else timedelta(minutes=1)
        assert job.every >= least and job.jitter_s >= 0, job
        if not job.ticker:
            assert supports_dry_run(job), f"{job.name}: its function needs a dry_run keyword"
        assert job_named(job.name.replace(" ", "_")) is job


@pytest.mark.django_db
def test_a_ticker_records_nothing_while_it_works_and_its_first_failure_once(monkeypatch):
    from web.jobs import runner

    alerts = []
    monkeypatch.setattr(runner, "alert_failure", lambda *, run, exc: alerts.append(run.pk))
    calls = {"n": 0}

    def tick() -> None:
        calls["n"] += 1
        if 2 <= calls["n"] <= 4:
            raise RuntimeError("disk full")

    job = Job("test ticker", tick, every=timedelta(seconds=15), jitter_s=0, ticker=True)
    for _ in range(6):
        runner.run_ticker(job)
    assert calls["n"] == 6
    runs = list(JobRun.objects.filter(job="test ticker"))
    assert [r.outcome for r in runs] == ["failed"] and "disk full" in runs[0].error
    assert alerts == [runs[0].pk]
    runner.run_ticker(Job("test ticker", lambda: 1 / 0, every=timedelta(seconds=15), ticker=True))
    assert JobRun.objects.filter(job="test ticker").count() == 2  # failing again after recovery
