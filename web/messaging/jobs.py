"""Publishing API for web and cron: enqueue() and enqueue_many_async().

Both succeed once a job is either acknowledged by the JOBS stream (fsynced: the server runs
with sync_interval always) or written to the outbox in ttl.db; the worker's relay publishes
outboxed jobs later under the same Nats-Msg-Id, so nothing is lost and nothing doubles.
After a failed publish the connection's circuit breaker opens and jobs go to the outbox
without waiting on NATS until a probe gets an answer again (web/messaging/breaker.py).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from web.messaging import services
from web.messaging.breaker import CircuitOpen
from web.messaging.client import async_link, publish_pipelined, sync_publisher
from web.messaging.config import CONFIG
from web.messaging.envelope import Envelope, InvalidJob, encode, new_id

__all__ = ["InvalidJob", "enqueue", "enqueue_async", "enqueue_many", "enqueue_many_async"]

log = logging.getLogger("web.messaging")


def enqueue(
    type: str,
    payload: dict[str, Any],
    *,
    id: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """Publish one job and wait (at most the PubAck bound) for the stream; return its id.

    Sync and safe in ``transaction.on_commit``. Raises InvalidJob for a bad type, id or
    payload (nothing stored). If NATS is down or slow the job goes to the outbox and this
    still returns the id.
    """
    env = encode(type, payload, id=id, headers=headers)
    try:
        sync_publisher(settings.ENV.nats_url).publish(
            env.subject, env.data, env.headers, CONFIG.puback_timeout_s
        )
    except Exception as exc:
        _outbox([env], exc)
    return env.id


def enqueue_many(jobs: list[tuple[str, dict[str, Any], str | None]]) -> list[str]:
    """Pipelined enqueue from sync code (cron, commands); same guarantees as enqueue()."""
    envs = [encode(t, p, id=i) for t, p, i in jobs]
    pub = sync_publisher(settings.ENV.nats_url)
    results = pub.publish_many(
        [(e.subject, e.data, e.headers) for e in envs], CONFIG.pipeline_stall_s
    )
    _outbox_failed(envs, results)
    return [e.id for e in envs]


async def enqueue_async(type: str, payload: dict[str, Any], *, id: str | None = None) -> str:
    """enqueue() for async code (never call the sync enqueue() on an event loop thread:
    its outbox fallback uses the ORM). Returns the job id."""
    job_id = id or new_id()
    await enqueue_many_async([(type, payload, job_id)])
    return job_id


async def enqueue_many_async(jobs: list[tuple[str, dict[str, Any], str | None]]) -> None:
    """Publish all jobs pipelined, wait for every PubAck, outbox the ones that failed.

    For high-rate async producers (ingest). Every job is validated before anything is sent,
    so one bad job raises InvalidJob and nothing is stored. Returns only when each job is
    acknowledged by the stream or stored in the outbox.
    """
    if not jobs:
        return
    envs = [encode(t, p, id=i) for t, p, i in jobs]
    link = await async_link(settings.ENV.nats_url)
    results: list[BaseException | None]
    if link.breaker.is_open:  # NATS failed recently: do not wait on it (see breaker.py)
        results = [CircuitOpen("NATS circuit breaker is open")] * len(envs)
    elif not link.connected or link.js is None:
        results = [ConnectionError("NATS is not connected")] * len(envs)
    else:
        results = await publish_pipelined(
            link.js,
            [(e.subject, e.data, e.headers) for e in envs],
            CONFIG.pipeline_stall_s,
            on_stall=lambda s: link.trip(TimeoutError(f"no PubAck for {s:.1f} s")),
        )
        failure = next((r for r in results if r is not None), None)
        if failure is not None:
            link.trip(failure)
    if any(r is not None for r in results):
        from asgiref.sync import sync_to_async

        await sync_to_async(_outbox_failed)(envs, results)


def _outbox_failed(envs: list[Envelope], results: list[BaseException | None]) -> None:
    failed = [e for e, r in zip(envs, results, strict=True) if r is not None]
    if failed:
        first = next(r for r in results if r is not None)
        _outbox(failed, first)


def _outbox(envs: list[Envelope], exc: BaseException) -> None:
    services.outbox_add(envelopes=envs, error=repr(exc)[:500])
    # While the breaker is open this happens on every publish; it logged once when it opened.
    level = logging.DEBUG if isinstance(exc, CircuitOpen) else logging.WARNING
    log.log(level, "NATS publish failed (%r): %d job(s) kept in the outbox", exc, len(envs))
