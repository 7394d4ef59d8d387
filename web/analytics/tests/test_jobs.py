"""The registered worker handler: job ids are the dedupe keys; failures become issues."""

from __future__ import annotations

import pytest

from web.analytics.jobs import analytics_event_batch
from web.analytics.models import Event, Issue
from web.core.testing.events import DAY0, ev
from web.messaging.handlers import HANDLERS, BatchContext, Job

pytestmark = pytest.mark.django_db


def _ctx(payloads: list[dict], ids: list[str]) -> BatchContext:
    jobs = [
        Job(id=i, type="analytics.event", payload=p, headers={}, delivered=1, stream_seq=n,
            created_at="")
        for n, (i, p) in enumerate(zip(ids, payloads, strict=True))
    ]  # fmt: skip
    return BatchContext("analytics.event", jobs)


def test_handler_is_registered_as_a_batch_handler():
    reg = HANDLERS["analytics.event"]
    assert reg.batch and reg.fn is analytics_event_batch


def test_redelivered_jobs_are_stored_once():
    import time

    now = time.time()
    payloads = [{k: v for k, v in ev(now - i).items() if k != "id"} for i in range(3)]
    ctx = _ctx(payloads, ["a1", "a2", "a3"])
    analytics_event_batch(payloads, ctx)
    analytics_event_batch(payloads, ctx)  # the same jobs again (redelivery)
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["a1", "a2", "a3"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failing_batch_raises_and_is_recorded_as_an_issue(monkeypatch):
    from web.analytics import writers

    def broken(*a: object, **k: object) -> None:
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(writers, "write_batch", broken)
    payloads = [ev(DAY0)]
    with pytest.raises(RuntimeError):
        analytics_event_batch(payloads, _ctx(payloads, ["b1"]))
    issue = Issue.objects.get(kind="server")
    assert (issue.type, issue.message) == ("RuntimeError", "disk I/O error")
    assert Event.objects.count() == 0
