"""The columnar history: sealing, merging, crash safety, retention, export."""

from __future__ import annotations

import pytest

from web.analytics.history import engine
from web.analytics.history import services as hs
from web.analytics.models import Event, HistoryState, Segment
from web.analytics.services import events_process_batch
from web.analytics.tests.conftest import DAY0, ev

pytestmark = pytest.mark.django_db

H = 3600
T = DAY0 + 10 * H


@pytest.fixture(autouse=True)
def history_dir(settings, tmp_path):
    settings.HISTORY_DIR = tmp_path / "history"
    return settings.HISTORY_DIR


def run(payloads: list[dict]) -> None:
    events_process_batch(payloads=payloads, now=max(p["ts"] for p in payloads) + 1)


def rows(sql: str = "SELECT seq, kind, path, session_id, entry, source FROM {ev} ORDER BY seq"):
    return engine.run(sql, [], start=None, end=None)


def test_seal_copies_every_event_once_with_its_session_attributes():
    run([ev(T, url="https://hearth.test/a?utm_source=nl&utm_campaign=x"),
         ev(T + 5, url="https://hearth.test/b"),
         ev(T + 9, kind="custom", name="signup", url="https://hearth.test/b", props={"plan": "pro"})])
    got = hs.history_seal()
    assert got == {"events": 3, "segments": 1}
    assert hs.history_seal() == {"events": 0, "segments": 0}
    out = rows("SELECT kind, path, entry, utm_source, utm_campaign, props FROM {ev} ORDER BY seq")
    assert [r[:5] for r in out] == [
        ("pageview", "/a", "/a", "nl", "x"),
        ("pageview", "/b", "/a", "nl", "x"),
        ("custom", "/b", "/a", "nl", "x"),
    ]
    assert out[2][5] == {"plan": "pro"}
    assert HistoryState.objects.get().sealed_seq == Event.objects.order_by("-id").first().id
