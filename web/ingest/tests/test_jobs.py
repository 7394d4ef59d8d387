"""Packing on the web side and unpacking in the worker: every event stored once."""

from __future__ import annotations

import time

import pytest

from web.ingest.jobs import analytics_events_batch, unpack
from web.ingest.publisher import PACK_MAX_BYTES, PACK_MAX_EVENTS, pack
from worker.context import BatchContext, Job

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"


def event(i: int, **kw: object) -> dict:
    return {"v": 1, "site": 1, "kind": "pageview", "name": "pageview",
            "url": f"http://127.0.0.1/p/{i}", "ref": "", "ts": time.time(),
            "ip": f"198.51.100.{i % 250 + 1}", "ua": UA, "src": "hearth", **kw}  # fmt: skip


def test_pack_keeps_single_events_on_the_contract_and_bounds_packs() -> None:
    [(job_type, payload, job_id)] = pack([e := event(1)])
    assert (job_type, payload, job_id) == ("analytics.event", e, None)
    jobs = pack([event(i) for i in range(450)])
    sizes = [len(p["events"]) for _, p, _ in jobs]
    assert sum(sizes) == 450 and 2 <= len(sizes) <= 6 and max(sizes) <= PACK_MAX_EVENTS
    flat = [e for _, p, _ in jobs for e in p["events"]]
    assert [e["url"] for e in flat] == [f"http://127.0.0.1/p/{i}" for i in range(450)]
    assert {t for t, _, _ in jobs} == {"analytics.events"}
    big = [event(i, title="t" * 2000) for i in range(60)]
    jobs = pack(big)
    assert len(jobs) > 1 and sum(len(p["events"]) for _, p, _ in jobs) == 60
    import json

    assert all(len(json.dumps(p)) <= PACK_MAX_BYTES + 100 for _, p, _ in jobs)


def _ctx(ids: list[str], payloads: list[dict]) -> BatchContext:
    pairs = enumerate(zip(ids, payloads, strict=True))
    jobs = [Job(i, "analytics.events", p, {}, 1, n, "") for n, (i, p) in pairs]
    return BatchContext("analytics.events", jobs)


@pytest.mark.django_db(databases=["default", "ttl"])
def test_worker_unpacks_stores_each_event_once_and_dead_letters_a_bad_pack(settings) -> None:  # type: ignore[no-untyped-def]
    from web.analytics.models import Event

    settings.ANALYTICS_LIVE = False  # no live-view publish: NATS is not part of this test
    payloads = [
        {"v": 1, "events": [event(1), event(2, kind="custom", name="Signup")]},
        {"v": 1, "events": "not a list"},
        {"v": 1, "events": [event(3)]},
    ]
    ids = ["packa", "packb", "packc"]
    ctx = _ctx(ids, payloads)
    analytics_events_batch(payloads, ctx)
    assert ctx.outcomes[1].kind == "permanent" and set(ctx.outcomes) == {1}
    stored = sorted(Event.objects.values_list("event_id", "name"))
    assert stored == [("packa:0", "pageview"), ("packa:1", "Signup"), ("packc:0", "pageview")]
    analytics_events_batch(payloads, _ctx(ids, payloads))  # redelivery
    assert Event.objects.count() == 3
    with pytest.raises(ValueError):
        unpack([{"events": [1]}], ["x"])


def test_pack_size_bound_holds_for_hostile_strings() -> None:
    import json

    from web.ingest.publisher import _size

    for text in ['"' * 3000, "\\" * 3000, "\x01" * 3000, "é" * 3000, "😀" * 3000, "plain"]:
        e = event(1, title=text, props={"k": text[:400]})
        assert _size(e) >= len(json.dumps(e, separators=(",", ":")))
