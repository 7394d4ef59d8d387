"""Redelivery is caught per unit (a pack's job id, or one event's key) by DedupeKey rows
written in the batch's own transaction; 0010 carries the keys of the last day over."""

from __future__ import annotations

import importlib
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.db import connection

from web.analytics.models import DedupeKey, DroppedEvent, Event
from web.analytics.services import analytics_retention, events_process_batch
from web.core.testing.events import DAY0, ev

pytestmark = pytest.mark.django_db
T = DAY0 + 10 * 3600


def test_a_pack_is_one_key_and_its_events_are_numbered() -> None:
    payloads = [ev(T), ev(T + 1), ev(T + 2, ua="Googlebot/2.1 (+http://www.google.com/bot.html)")]
    res = events_process_batch(payloads=payloads, job_ids=["pk1"], pack_sizes=[3], now=T + 5)
    assert (res.stored, res.dropped) == (2, {"ua:bot": 1})
    assert list(DedupeKey.objects.values_list("key", flat=True)) == ["pk1"]
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["pk1:0", "pk1:1"]
    assert list(DroppedEvent.objects.values_list("event_id", flat=True)) == ["pk1:2"]
    again = events_process_batch(payloads=payloads, job_ids=["pk1"], pack_sizes=[3], now=T + 6)
    assert (again.stored, again.duplicates, again.dropped) == (0, 3, {})
    assert Event.objects.count() == 2 and DroppedEvent.objects.count() == 1


def test_pack_sizes_must_match_the_payloads() -> None:
    with pytest.raises(ValueError, match="pack_sizes"):
        events_process_batch(payloads=[ev(T)], job_ids=["a"], pack_sizes=[2], now=T + 1)
    assert not DedupeKey.objects.exists() and not Event.objects.exists()


def test_retention_deletes_old_keys_with_the_raw_events() -> None:
    events_process_batch(payloads=[ev(T)], job_ids=["old"], now=T + 1)
    events_process_batch(payloads=[ev(T + 9 * 86400)], job_ids=["new"], now=T + 9 * 86400 + 1)
    out = analytics_retention(days=5, now=T + 9 * 86400 + 2)
    assert out["analytics_dedupekey"] == 1
    assert list(DedupeKey.objects.values_list("key", flat=True)) == ["new"]


def test_migration_carries_the_last_days_event_ids_over_as_keys() -> None:
    """A job stored just before the upgrade and redelivered after it is still skipped."""
    migration = importlib.import_module("web.analytics.migrations.0010_dedupe_keys")
    now = time.time()
    recent = datetime.fromtimestamp(now - 3600, UTC)
    old = datetime.fromtimestamp(now - 3 * 86400, UTC)
    for eid, ts in (("jobA:0", recent), ("jobA:1", recent), ("single", recent),
                    ("srv:ab12", recent), ("gone:0", old)):  # fmt: skip
        Event.objects.create(event_id=eid, site_id=1, ts=ts, kind="pageview", name="pageview",
                             visitor_id=1)  # fmt: skip
    DroppedEvent.objects.create(event_id="jobB:3", site_id=1, ts=recent, step="ua", reason="bot")
    migration.carry_keys(None, SimpleNamespace(connection=connection))
    assert set(DedupeKey.objects.values_list("key", flat=True)) == {
        "jobA", "jobA:0", "jobA:1", "single", "srv:ab12", "jobB", "jobB:3",
    }  # fmt: skip
    res = events_process_batch(
        payloads=[ev(now - 60), ev(now - 59)], job_ids=["jobA"], pack_sizes=[2], now=now
    )
    assert (res.stored, res.duplicates) == (0, 2)
