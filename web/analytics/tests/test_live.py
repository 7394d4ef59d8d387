"""After a batch: the live view and new-issue alerts reach real core NATS subscribers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from web.analytics import pipeline
from web.analytics.services import events_process_batch
from web.analytics.tests.conftest import ev
from web.core.testing import wait_until

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class Subscriber:
    """Collects messages on some subjects in a background event loop."""

    def __init__(self, url: str, subjects: list[str]) -> None:
        self.msgs: list[tuple[str, dict[str, Any]]] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._run(url, subjects),))
        self.thread.start()
        assert self.ready.wait(10), "subscriber did not connect"

    async def _run(self, url: str, subjects: list[str]) -> None:
        import nats

        nc = await nats.connect(url)

        async def on(msg: Any) -> None:
            self.msgs.append((msg.subject, json.loads(msg.data)))

        for s in subjects:
            await nc.subscribe(s, cb=on)
        await nc.flush()
        self.ready.set()
        while not self.stop.is_set():
            await asyncio.sleep(0.05)
        await nc.close()

    def wait(self, n: int, timeout: float = 10) -> list[tuple[str, dict[str, Any]]]:
        """The messages so far, once there are at least ``n``."""
        wait_until(lambda: len(self.msgs) >= n, timeout=timeout, message=f"{n} messages")
        return list(self.msgs)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def test_batch_publishes_live_view_and_new_issue_alert(nats_env):
    pipeline.reset_caches()
    sub = Subscriber(nats_env.nats_url, ["events.metrics.views.*", "events.alerts.errors"])
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
        msgs = dict(sub.wait(2))
    finally:
        sub.close()
    assert "events.metrics.views.1" in msgs, (msgs, len(sub.msgs))
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
    sub = Subscriber(nats_env.nats_url, ["events.metrics.views.*"])
    try:
        now = time.time()
        events_process_batch(payloads=[ev(now - 5, ip="81.2.69.142")], now=now)
        sub.wait(1)
        events_process_batch(payloads=[ev(now + 100, ip="8.8.8.8")], now=now + 100)
        sub.wait(2)
        # 81.2.69.142 was last seen 305 s before this batch: gone; 8.8.8.8 and 9.9.9.9 stay.
        events_process_batch(payloads=[ev(now + 300, ip="9.9.9.9")], now=now + 300)
        msgs = sub.wait(3)
    finally:
        sub.close()
    counts = [m["visitors_now"] for s, m in msgs if s == "events.metrics.views.1"]
    assert counts == [1, 2, 2]
