"""After a batch: the live view and new-issue alerts reach real core NATS subscribers."""

from __future__ import annotations

import time

import pytest

from web.analytics import pipeline
from web.analytics.services import events_process_batch
from web.core.testing.events import ev
from web.core.testing.nats import Collector

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_batch_publishes_live_view_and_new_issue_alert(nats_env):
    pipeline.reset_caches()
    sub = Collector(nats_env.nats_url, "events.metrics.views.*", "events.alerts.errors").start()
    try:
        now = time.time()
        err = {"message": "Uncaught TypeError: liveBoom is not a function", "stack": ""}
        events_process_batch(
            payloads=[
                ev(now - 30, url="https://hearth.test/a", ip="81.2.69.142"),
                ev(now - 20, url="https://hearth.test/b", ip="81.2.69.142"),
                ev(now - 10, url="https://hearth.test/a", ip="8.8.8.8"),
                ev(now - 5, kind="error", name="TypeError", error=err),
            ],
            now=now,
        )
        sub.wait_for(2, timeout=10)
        msgs = dict(sub.received)
    finally:
        sub.close()
    assert "events.metrics.views.1" in msgs, (msgs, len(sub.received))
    view = msgs["events.metrics.views.1"]
    assert (view["pageviews"], view["errors"], view["visitors_now"]) == (3, 1, 2)
    assert view["pages"] == ["/a", "/b"]  # latest first
    assert view["countries"] == {"GB": 2, "US": 1}
    alert = msgs["events.alerts.errors"]
    assert (alert["type"], alert["kind"], alert["reopened"]) == ("TypeError", "js", False)
    assert "liveBoom" in alert["message"]


def test_visitors_now_counts_the_last_five_minutes(nats_env):
    """Each batch publishes the visitors seen in the last 5 minutes; those who left drop out."""
    pipeline.reset_caches()
    sub = Collector(nats_env.nats_url, "events.metrics.views.*").start()
    try:
        now = time.time()
        events_process_batch(payloads=[ev(now - 5, ip="81.2.69.142")], now=now)
        sub.wait_for(1, timeout=10)
        events_process_batch(payloads=[ev(now + 100, ip="8.8.8.8")], now=now + 100)
        sub.wait_for(2, timeout=10)
        # 81.2.69.142 was last seen 305 s before this batch: gone; 8.8.8.8 and 9.9.9.9 stay.
        events_process_batch(payloads=[ev(now + 300, ip="9.9.9.9")], now=now + 300)
        sub.wait_for(3, timeout=10)
        msgs = list(sub.received)
    finally:
        sub.close()
    counts = [m["visitors_now"] for s, m in msgs if s == "events.metrics.views.1"]
    assert counts == [1, 2, 2]
