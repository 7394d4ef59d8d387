"""TTL cleanup deletes only expired rows, and a dry run deletes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_eventstream.models import Event

from web.core import ttl as cleanup


def _session(key: str, expires_in: timedelta) -> None:
    Session.objects.create(
        session_key=key, session_data="e30:x", expire_date=timezone.now() + expires_in
    )


def _event(channel: str, eid: int, age: timedelta) -> None:
    event = Event.objects.create(channel=channel, type="message", data="{}", eid=eid)
    # `created` is auto_now_add: backdate it the way time would.
    Event.objects.filter(pk=event.pk).update(created=timezone.now() - age)


@pytest.mark.django_db(databases=["default", "ttl"])
def test_cleanup_deletes_only_expired_rows() -> None:
    _session("expired-a", -timedelta(hours=1))
    _session("expired-b", -timedelta(days=30))
    _session("live-a", timedelta(minutes=5))
    _session("live-b", timedelta(days=14))
    _event("posts", 1, timedelta(hours=25))
    _event("posts", 2, timedelta(hours=23))
    _event("alerts", 1, timedelta(days=3))
    _event("alerts", 2, timedelta(minutes=1))

    dry = cleanup.run_cleaners(now=timezone.now(), dry_run=True)
    assert dry["sessions"] == 2 and dry["eventstream"] == 2
    assert Session.objects.count() == 4 and Event.objects.count() == 4

    counts = cleanup.run_cleaners(now=timezone.now())
    assert counts["sessions"] == 2 and counts["eventstream"] == 2
    assert set(Session.objects.values_list("session_key", flat=True)) == {"live-a", "live-b"}
    assert set(Event.objects.values_list("channel", "eid")) == {("posts", 2), ("alerts", 2)}
    assert cleanup.run_cleaners(now=timezone.now())["sessions"] == 0


@pytest.mark.django_db(databases=["default", "ttl"])
def test_registered_cleaner_is_called_with_now_and_counted() -> None:
    seen = []

    def codes(now):  # type: ignore[no-untyped-def]
        seen.append(now)
        deleted, _ = Session.objects.filter(expire_date__lt=now).delete()
        return deleted

    _session("old", -timedelta(seconds=1))
    cleanup.register_cleaner("test.codes", codes)
    try:
        now = timezone.now()
        counts = cleanup.run_cleaners(now=now, dry_run=True)
        assert seen == [now] and counts["test.codes"] == 1
        assert Session.objects.filter(session_key="old").exists()  # dry run rolled back
    finally:
        cleanup.CLEANERS.pop("test.codes")
