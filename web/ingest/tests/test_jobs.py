"""Packing on the web side and unpacking in the worker: every event stored once."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from web.analytics.jobs import analytics_events_batch, unpack
from web.ingest.publisher import PACK_MAX_EVENTS, pack, publish_packed
from web.messaging.envelope import encode
from web.messaging.handlers import BatchContext, Job

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"


def event(i: int, **kw: object) -> dict:
    return {"v": 1, "site": 1, "kind": "pageview", "name": "pageview",
            "url": f"http://127.0.0.1/p/{i}", "ref": "", "ts": time.time(),
            "ip": f"198.51.100.{i % 250 + 1}", "ua": UA, "src": "hearth", **kw}  # fmt: skip


def test_pack_packs_even_a_single_event_and_bounds_packs() -> None:
    [(job_type, payload, job_id)] = pack([e := event(1)])
    assert (job_type, payload, job_id) == ("analytics.events", {"v": 1, "events": [e]}, None)
    jobs = pack([event(i) for i in range(450)])
    assert [len(p["events"]) for _, p, _ in jobs] == [PACK_MAX_EVENTS] * 4 + [50]
    assert {t for t, _, _ in jobs} == {"analytics.events"}
    flat = [e for _, p, _ in jobs for e in p["events"]]
    assert [e["url"] for e in flat] == [f"http://127.0.0.1/p/{i}" for i in range(450)]


def test_packs_too_big_for_the_envelope_are_split_until_they_fit() -> None:
    published: list[tuple[str, dict]] = []

    async def publish(jobs: list) -> None:  # the real envelope rules, then record
        for job_type, payload, job_id in jobs:
            encode(job_type, payload, id=job_id)  # raises InvalidJob over 64 KiB
        published.extend((t, p) for t, p, _ in jobs)

    big = [event(i, title="\u00e9" * 2000) for i in range(120)]  # ~12 KB of JSON each
    asyncio.run(publish_packed(publish, big))
    flat = [e for t, p in published for e in (p["events"] if t == "analytics.events" else [p])]
    assert [e["url"] for e in flat] == [e["url"] for e in big]
    assert all(len(json.dumps(p)) <= 64 * 1024 for _, p in published)
    assert len(published) >= 24  # 120 events at most ~5 per 64 KiB pack


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


def test_chunks_hold_whole_packs() -> None:
    """A pack is one dedupe unit, so a transaction never holds part of one."""
    packs = [{"events": [event(i) for i in range(n)]} for n in (3, 3, 1, 7, 2)]
    chunks = unpack(packs, ["a", "b", "c", "d", "e"], chunk=5)
    assert [(keys, sizes) for _, keys, sizes in chunks] == [
        (["a"], [3]),
        (["b", "c"], [3, 1]),
        (["d"], [7]),  # bigger than a chunk: alone
        (["e"], [2]),
    ]
    assert [len(events) for events, _, _ in chunks] == [3, 4, 7, 2]


@pytest.mark.django_db(databases=["default", "ttl"])
def test_a_failed_chunk_redelivers_the_batch_and_committed_packs_are_skipped(  # type: ignore[no-untyped-def]
    settings, monkeypatch
) -> None:
    from web.analytics import jobs, writers
    from web.analytics.models import DedupeKey, Event

    settings.ANALYTICS_LIVE = False
    monkeypatch.setattr(jobs, "CHUNK", 2)
    payloads = [{"v": 1, "events": [event(i), event(i + 10)]} for i in range(3)]
    ids = ["p0", "p1", "p2"]
    write = writers.write_batch
    calls = []

    def second_chunk_fails(*a: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        write(*a)

    monkeypatch.setattr(writers, "write_batch", second_chunk_fails)
    with pytest.raises(RuntimeError):
        analytics_events_batch(payloads, _ctx(ids, payloads))
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["p0:0", "p0:1"]
    assert list(DedupeKey.objects.values_list("key", flat=True)) == ["p0"]
    monkeypatch.setattr(writers, "write_batch", write)
    analytics_events_batch(payloads, _ctx(ids, payloads))  # the redelivery
    stored = sorted(Event.objects.values_list("event_id", flat=True))
    assert stored == ["p0:0", "p0:1", "p1:0", "p1:1", "p2:0", "p2:1"]
    assert sorted(DedupeKey.objects.values_list("key", flat=True)) == ids
