"""Publishing API, envelope rules, registry and /metrics, in-process against real NATS."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
from typing import Any

import nats
import pytest
from django.contrib.auth import get_user_model

from web.messaging.config import DEFAULT_FAMILIES, STREAM
from web.messaging.envelope import CREATED_AT, MSG_ID, InvalidJob, encode
from web.messaging.handlers import BatchContext, Job, handler
from web.messaging.jobs import enqueue, enqueue_async, enqueue_many, enqueue_many_async
from web.messaging.metrics import render
from web.messaging.models import OutboxJob
from web.messaging.streams import ensure_all
from web.stack.servers import free_port

TTL = pytest.mark.django_db(databases=["default", "ttl"])


@pytest.mark.parametrize(
    ("job_type", "payload", "job_id", "message"),
    [
        ("images", {}, None, "must look like"),
        ("Images.process", {}, None, "must look like"),
        ("video.encode", {}, None, "unknown job family 'video'"),
        ("images.process", {"post": object()}, None, "not plain JSON"),
        ("images.process", ["id"], None, "must be a dict"),
        ("images.process", {"nan": float("nan")}, None, "not plain JSON"),
        ("images.process", {"blob": "x" * 70_000}, None, "jobs carry ids"),
        ("images.process", {}, "has space", "job id must be"),
        ("images.process", {}, "x" * 65, "job id must be"),
    ],
)
def test_encode_rejects_bad_jobs_with_a_clear_message(
    job_type: str, payload: Any, job_id: str | None, message: str
) -> None:
    with pytest.raises(InvalidJob, match=message):
        encode(job_type, payload, id=job_id)


def test_encode_builds_the_envelope() -> None:
    env = encode("images.process", {"image_id": 7}, id="img-7")
    assert env.subject == "jobs.images.process"
    assert env.data == b'{"image_id":7}'
    assert env.headers[MSG_ID] == "img-7"
    assert env.headers[CREATED_AT].endswith("Z")
    assert len(encode("notify.email", {}).id) == 32  # 32 hex digits by default


def test_default_job_ids_are_unique_and_time_ordered() -> None:
    """Ids sort by creation time (so events keyed by them append to their index)."""
    import time

    ids = []
    for _ in range(3):
        ids += [encode("notify.email", {}).id for _ in range(100)]
        time.sleep(0.002)
    assert len(set(ids)) == len(ids)
    firsts = [ids[0], ids[100], ids[200]]
    assert firsts == sorted(firsts) and len(set(f[:12] for f in firsts)) == 3
    assert all(re.fullmatch("[0-9a-f]{32}", i) for i in ids)


def test_backoff_grows_then_stays_at_the_last_step() -> None:
    fam = DEFAULT_FAMILIES["notify"]
    assert [fam.backoff_for(n) for n in range(1, 8)] == [2, 10, 60, 300, 900, 900, 900]
    for f in DEFAULT_FAMILIES.values():
        assert f.max_runtime_s > f.ack_wait_s  # heartbeats carry long jobs past ack_wait


def test_registry_refuses_unknown_family_and_double_registration() -> None:
    with pytest.raises(ValueError, match="known family"):
        handler("video.encode")(lambda p, c: None)

    @handler("maintenance.unit_test_only")
    def first(payload: dict[str, Any], ctx: Any) -> None: ...

    with pytest.raises(ValueError, match="already has a handler"):
        handler("maintenance.unit_test_only")(lambda p, c: None)


def test_batch_context_defaults_to_ack_and_checks_indexes() -> None:
    jobs = [Job(str(i), "analytics.x", {}, {}, 1, i, "") for i in range(3)]
    ctx = BatchContext("analytics.x", jobs)
    ctx.fail(1, ValueError("bad"))
    ctx.retry(2, 3)
    assert ctx.outcomes[1].kind == "fail" and "ValueError: bad" in ctx.outcomes[1].error
    assert ctx.outcomes[2].delay == 3.0
    assert 0 not in ctx.outcomes
    with pytest.raises(IndexError):
        ctx.permanent(3, "no")


@TTL
def test_enqueue_with_nats_unreachable_goes_to_the_outbox(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENV = dataclasses.replace(settings.ENV, nats_url=f"nats://127.0.0.1:{free_port()}")
    job_id = enqueue("notify.email", {"user_id": 3}, id="mail-3")
    assert job_id == "mail-3"
    row = OutboxJob.objects.get()
    assert (row.msg_id, row.subject) == ("mail-3", "jobs.notify.email")
    assert json.loads(bytes(row.data)) == {"user_id": 3}
    assert row.headers[MSG_ID] == "mail-3"
    enqueue("notify.email", {"user_id": 3}, id="mail-3")  # same id again: still one row
    assert OutboxJob.objects.count() == 1
    with pytest.raises(InvalidJob):
        enqueue("notify.email", {"user": object()})
    assert OutboxJob.objects.count() == 1


async def _stream_messages(url: str, *, setup: bool = False) -> list[Any]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    try:
        if setup:  # a fresh JOBS stream for this test
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(STREAM)
            await ensure_all(js)
            return []
        info = await js.stream_info(STREAM)
        return [
            await js.get_msg(STREAM, seq)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]
    finally:
        await nc.close()


@TTL
def test_enqueue_puts_one_deduplicated_message_on_the_stream(nats_env) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(_stream_messages(nats_env.nats_url, setup=True))
    enqueue("images.process", {"image_id": 11}, id="img-11")
    enqueue("images.process", {"image_id": 11}, id="img-11")  # a retry by the caller
    msgs = asyncio.run(_stream_messages(nats_env.nats_url))
    assert len(msgs) == 1
    assert msgs[0].subject == "jobs.images.process"
    assert msgs[0].headers[MSG_ID] == "img-11"
    assert json.loads(msgs[0].data) == {"image_id": 11}
    assert OutboxJob.objects.count() == 0


@TTL
def test_enqueue_many_async_waits_for_every_puback(nats_env) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(_stream_messages(nats_env.nats_url, setup=True))
    jobs = [("analytics.event", {"i": i}, f"ev-{i}") for i in range(300)]

    async def go() -> str:
        await enqueue_many_async(jobs)
        return await enqueue_async("analytics.event", {"i": 300})

    last_id = asyncio.run(go())
    msgs = asyncio.run(_stream_messages(nats_env.nats_url))
    assert [m.headers[MSG_ID] for m in msgs] == [f"ev-{i}" for i in range(300)] + [last_id]
    assert OutboxJob.objects.count() == 0


def test_metrics_text_has_counters_and_lag_per_family() -> None:
    summary = {
        "families": {
            "notify": {
                "lag": 4,
                "ack_pending": 1,
                "redelivering": 0,
                "processed": 10,
                "failed": 2,
                "redelivered": 1,
                "dead_lettered": 1,
            },
        },
        "stream": {"messages": 5, "bytes": 100},
        "outbox": 3,
        "dead_letters": 1,
        "worker": None,
        "errors": [],
    }
    text = render(summary).decode()
    assert 'hearth_jobs_processed_total{family="notify"} 10.0' in text
    assert 'hearth_jobs_dead_lettered_total{family="notify"} 1.0' in text
    assert 'hearth_jobs_lag{family="notify"} 4.0' in text
    assert "hearth_jobs_outbox 3.0" in text
    assert "hearth_jobs_nats_up 1.0" in text


@TTL
def test_metrics_url_is_for_localhost_or_staff(client, nats_env) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(_stream_messages(nats_env.nats_url, setup=True))  # stream and consumers
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    assert b'hearth_jobs_lag{family="analytics"}' in r.content
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    # Through a reverse proxy on the same box: REMOTE_ADDR is local, the client is not.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    staff = get_user_model().objects.create_user("ops", password="x" * 12, is_staff=True)
    client.force_login(staff)
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200


@TTL
def test_first_enqueue_many_of_a_process_waits_for_the_connection(nats_env) -> None:  # type: ignore[no-untyped-def]
    from web.messaging import client

    asyncio.run(_stream_messages(nats_env.nats_url, setup=True))
    client._sync.pop(nats_env.nats_url, None)  # as in a freshly started cron process
    ids = enqueue_many([("maintenance.cleanup", {"i": i}, f"c-{i}") for i in range(3)])
    assert ids == ["c-0", "c-1", "c-2"]
    msgs = asyncio.run(_stream_messages(nats_env.nats_url))
    assert [m.headers[MSG_ID] for m in msgs] == ids
    assert OutboxJob.objects.count() == 0
