"""Retention: raw rows expire, rollups and issues stay; dry-run deletes nothing."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command

from web.analytics.history.services import history_seal
from web.analytics.models import (
    Event,
    Issue,
    IssueEvent,
    Rollup,
    Salt,
    Session,
    SessionsHourly,
    StateJournal,
)
from web.analytics.services import analytics_retention, events_process_batch
from web.core.testing.events import DAY0, ev

pytestmark = pytest.mark.django_db
DAY = 86400


def _seed() -> None:
    old = DAY0 + 3600
    events_process_batch(
        payloads=[ev(old), ev(old + 5, kind="error", error={"message": "Uncaught Error: old"})],
        now=old + 10,
    )
    new = DAY0 + 40 * DAY
    events_process_batch(payloads=[ev(new, url="https://hearth.test/new")], now=new + 10)
    history_seal()  # raw events leave data.db only once in the history


def test_retention_deletes_raw_rows_and_keeps_rollups_and_issues():
    _seed()
    rollups, graph = Rollup.objects.count(), SessionsHourly.objects.count()
    now = DAY0 + 40 * DAY + 60
    Salt.objects.create(day=date(2026, 12, 1), value=b"x" * 32)  # a salt that outlived 48 h

    dry = analytics_retention(days=30, dry_run=True, now=now)
    assert dry["analytics_event"] == 2
    assert dry["analytics_issueevent"] == 1
    assert dry["analytics_session"] == 1
    assert dry["visitor_states"] == 1  # the day-0 visitor, in the state journal
    assert dry["analytics_salt"] == 1  # the stray one; days 39 and 40 stay
    assert Event.objects.count() == 3  # nothing deleted
    assert sorted(StateJournal.objects.values_list("kind", "states")) == [("delta", 1)] * 2

    done = analytics_retention(days=30, now=now)
    assert done.pop("history_rows_deleted") == 0  # the history is kept forever by default
    assert done == dry
    assert list(Event.objects.values_list("path", flat=True)) == ["/new"]
    assert IssueEvent.objects.count() == 0
    assert Session.objects.count() == 1
    # The journal was compacted into one snapshot holding only the day-40 visitor.
    assert list(StateJournal.objects.values_list("kind", "states")) == [("snapshot", 1)]
    assert Salt.objects.count() == 2
    assert (Rollup.objects.count(), SessionsHourly.objects.count()) == (rollups, graph)
    assert Issue.objects.get().count == 1


def test_retention_command_dry_run_and_configured_days(settings):
    import dataclasses

    _seed()  # two events on day 0 (2026-11-20), one on day 40
    settings.ENV = dataclasses.replace(settings.ENV, analytics_retention_days=10_000)
    out = io.StringIO()
    call_command("analytics_retention", "--dry-run", "--days", "1", stdout=out)
    assert "analytics_event: would delete 2" in out.getvalue()
    assert Event.objects.count() == 3
    call_command("analytics_retention", stdout=out)  # 10,000 days: nothing is that old
    assert Event.objects.count() == 3


def test_cron_table_has_the_daily_retention_job():
    from datetime import timedelta

    from web.jobs.table import job_named

    job = job_named("analytics retention")
    assert job.every == timedelta(days=1)
    assert job.func(dry_run=True)["analytics_event"] == 0
