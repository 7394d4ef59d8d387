"""Alerts: spike detection on synthetic rates, one alert per storm (live event on NATS,
one email, a signed webhook), and the periodic check over real seeded events."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from web.dashboard import alerts
from web.dashboard.models import AlertState

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])

FLAT = [100, 96, 104, 99, 101, 95, 103, 98, 102, 100] * 3


@pytest.mark.parametrize(
    ("rates", "spike"),
    [
        ([*FLAT, 400], True),  # 4x the usual rate
        ([*FLAT, 150], False),  # busy, not a spike
        ([*FLAT, 299], False),  # just under 3x
        ([1, 2, 1, 0, 2, 1, 1, 1, 12], False),  # a quiet site: below min_count
        ([1, 2, 1, 0, 2, 1, 1, 1, 40], True),  # ... unless it is a real jump
        ([100] * 20 + [900] * 3 + [100] * 20 + [400], True),  # earlier spike does not hide it
        ([0] * 30 + [35], True),  # from nothing to something
        ([50] * 3 + [500], False),  # too little history to judge
    ],
)
def test_spike_detection_on_synthetic_rates(rates: list[int], spike: bool) -> None:
    assert (alerts.spike_detect(rates) is not None) is spike


def test_spike_reports_the_baseline() -> None:
    s = alerts.spike_detect([*FLAT, 500])
    assert s is not None and s.current == 500 and s.baseline == 100 and s.factor == 5


async def _collect(
    url: str, subject: str, started: threading.Event, out: list[dict], n: int
) -> None:
    import nats

    nc = await nats.connect(url)
    sub = await nc.subscribe(subject)
    await nc.flush()
    started.set()
    try:
        while len(out) < n:
            msg = await sub.next_msg(timeout=3)
            out.append(json.loads(msg.data))
    except Exception:
        pass
    finally:
        await nc.close()


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_storm_is_one_alert(nats_env: Any, settings: Any) -> None:
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    settings.DASHBOARD_ALERT_WEBHOOK_URL = f"http://127.0.0.1:{hook.server_port}/hook"
    settings.DASHBOARD_ALERT_WEBHOOK_SECRET = "s3cret"
    _Hook.received = []
    get_user_model().objects.create(username="owner", email="owner@example.com", is_staff=True)
    received: list[dict] = []
    started = threading.Event()
    listener = threading.Thread(
        target=asyncio.run,
        args=(_collect(nats_env.nats_url, "events.alerts.traffic", started, received, 2),),
    )
    listener.start()
    assert started.wait(10)
    try:
        now = time.time()
        sent = [
            alerts.alert_raise(kind="traffic", key="site:1", title="Traffic spike", now=now + i)
            for i in range(50)
        ]
        assert sent.count(True) == 1 and sent[0] is True
        state = AlertState.objects.get(key="traffic:site:1")
        assert state.suppressed == 49
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["owner@example.com"]
        assert "Traffic spike" in mail.outbox[0].subject
        # A different key is a different alert; the same key again after the quiet period too.
        assert alerts.alert_raise(kind="traffic", key="site:2", title="other", now=now)
        assert alerts.alert_raise(kind="traffic", key="site:1", title="again", now=now + 3601)
        assert not alerts.alert_raise(kind="traffic", key="site:1", title="again", now=now + 3602)
    finally:
        listener.join(10)
        hook.shutdown()
    assert len(mail.outbox) == 3
    # Live: the first two delivered alerts reached NATS (the storm's 49 others did not).
    assert [r["title"] for r in received] == ["Traffic spike", "other"]
    # Webhook: one POST per delivered alert, each signed over the exact body.
    assert len(_Hook.received) == 3
    for headers, body in _Hook.received:
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert headers["X-Hearth-Signature"] == expected


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown alert kind"):
        alerts.alert_raise(kind="weather", key="x", title="rain")


def test_check_finds_a_spike_in_real_events_once(nats_env: Any, settings: Any) -> None:
    """Raw events: a steady day, then a burst in the current 10 minutes; the periodic check
    sends one traffic alert and, run again, none."""
    from web.analytics.models import Event

    settings.DASHBOARD_ALERT_EMAILS = ["ops@example.com"]
    now = time.time()
    bucket = int(now // alerts.BUCKET_S) * alerts.BUCKET_S
    rows = []
    for b in range(1, 100):  # 5 events per 10 minutes for ~16 hours
        for i in range(5):
            rows.append((bucket - b * alerts.BUCKET_S + i * 60, f"a{b}-{i}"))
    for i in range(60):  # the burst: 60 events in the current bucket
        rows.append((bucket + (i % 50), f"burst{i}"))
    Event.objects.bulk_create(
        Event(event_id=eid, site_id=1, ts=datetime.fromtimestamp(ts, UTC), kind="pageview",
              name="pageview", visitor_id=1)
        for ts, eid in rows
    )  # fmt: skip
    rates = alerts.traffic_rates(1, now=bucket + 59)
    assert rates[-1] == 60 and rates[-2] == 5
    first = alerts.alerts_check(now=bucket + 59)
    assert first["traffic"] == 1
    assert alerts.alerts_check(now=bucket + 120)["traffic"] == 0
    assert len([m for m in mail.outbox if "Traffic spike" in m.subject]) == 1


def test_an_alert_whose_email_fails_is_raised_again(settings: Any) -> None:
    locmem = settings.MAILERS
    settings.MAILERS = {"default": {"BACKEND": "web.dashboard.tests.test_alerts.BrokenBackend"}}
    settings.DASHBOARD_ALERT_EMAILS = ["ops@example.com"]
    now = time.time()
    with pytest.raises(ConnectionRefusedError):
        alerts.alert_raise(kind="backups", key="job:x", title="failed", publish=False, now=now)
    settings.MAILERS = locmem
    assert alerts.alert_raise(
        kind="backups", key="job:x", title="failed", publish=False, now=now + 1
    )
    assert len(mail.outbox) == 1


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("smtp down")


def _traceback() -> str:
    import traceback

    try:
        raise RuntimeError("offsite refused the copy\nsecond line of the message")
    except RuntimeError:
        return traceback.format_exc()


def test_a_failed_backup_is_alerted_with_a_one_line_subject(settings: Any) -> None:
    """Issue 15, reliability 1: the run's error is a traceback (several lines); the alert's
    title and the email subject are one line, the traceback goes in the body. Before, the
    subject held the traceback and sending it raised, so no failed backup was ever alerted."""
    from django.utils import timezone

    from web.jobs.models import JobRun

    settings.DASHBOARD_ALERT_EMAILS = ["ops@example.com"]
    error = _traceback()
    assert error.count("\n") > 3
    JobRun.objects.create(
        job="backup daily", started_at=timezone.now(), outcome=JobRun.FAILED, error=error
    )
    sent = alerts.alerts_check(now=time.time())
    assert sent["backups"] == 1
    (msg,) = mail.outbox
    assert msg.subject == (
        "[Hearth alert] Job backup daily failed: RuntimeError: offsite refused the copy"
    )
    assert "\n" not in msg.subject and "\r" not in msg.subject
    msg.message()  # the headers are valid
    assert "second line of the message" in msg.body and "Traceback" in msg.body


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("disk full", "disk full"),
        ("\n  first\r\nsecond\n", "first"),
        ("Traceback (most recent call last):\n  File x\nValueError: bad\n", "ValueError: bad"),
        (
            "tail of a cut traceback\nTraceback (most recent call last):\nKeyError: 'k'",
            "KeyError: 'k'",
        ),
        ("Traceback (most recent call last):\n  File x\nValueError: a\nb\n", "ValueError: a"),
        ("a\tb   c", "a b c"),
        ("", ""),
        ("x" * 300, "x" * 199 + "…"),
    ],
)
def test_one_line_titles(text: str, line: str) -> None:
    assert alerts.one_line(text) == line


def test_a_title_with_line_breaks_is_sent_as_one_line(settings: Any) -> None:
    settings.DASHBOARD_ALERT_EMAILS = ["ops@example.com"]
    assert alerts.alert_raise(
        kind="errors", key="issue:1", title="Error: TypeError: a\nb", publish=False
    )
    assert mail.outbox[0].subject == "[Hearth alert] Error: TypeError: a"
