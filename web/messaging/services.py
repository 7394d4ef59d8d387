"""Writes of the messaging context: outbox, dead letters, processed job ids."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone
from nats.js import JetStreamContext

from web.messaging.client import publish_pipelined
from web.messaging.envelope import Envelope
from web.messaging.models import DeadLetter, OutboxJob, ProcessedJob

log = logging.getLogger("web.messaging")


# -- outbox ------------------------------------------------------------------------------------
def outbox_add(*, envelopes: Iterable[Envelope], error: str) -> int:
    """Store jobs that could not be published; the relay sends them later with the same id.

    A second enqueue of an id already waiting is a no-op, like the stream's dedupe.
    """
    rows = [
        OutboxJob(msg_id=e.id, subject=e.subject, data=e.data, headers=e.headers, last_error=error)
        for e in envelopes
    ]
    OutboxJob.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def outbox_pending(*, limit: int) -> list[OutboxJob]:
    return list(OutboxJob.objects.order_by("id")[:limit])


def outbox_settle(*, sent_ids: list[int], failed: dict[int, str]) -> None:
    """Delete what the stream acknowledged; count an attempt on the rest."""
    with transaction.atomic(using=router.db_for_write(OutboxJob)):
        if sent_ids:
            OutboxJob.objects.filter(id__in=sent_ids).delete()
        for pk, err in failed.items():
            OutboxJob.objects.filter(id=pk).update(attempts=F("attempts") + 1, last_error=err)


async def outbox_relay_once(js: JetStreamContext, *, timeout: float, limit: int = 1000) -> int:
    """Republish up to `limit` outbox rows (same Nats-Msg-Id); return how many were acked.

    A row is deleted only after its PubAck, so a crash here republishes it: the stream's
    dedupe window (and handler idempotency) makes that harmless.
    """
    from asgiref.sync import sync_to_async

    rows = await sync_to_async(outbox_pending)(limit=limit)
    if not rows:
        return 0
    results = await publish_pipelined(
        js, [(r.subject, bytes(r.data), dict(r.headers)) for r in rows], timeout
    )
    sent = [r.id for r, res in zip(rows, results, strict=True) if res is None]
    failed = {r.id: repr(res)[:500] for r, res in zip(rows, results, strict=True) if res}
    await sync_to_async(outbox_settle)(sent_ids=sent, failed=failed)
    if sent:
        log.info("outbox relay: republished %d job(s), %d still waiting", len(sent), len(failed))
    return len(sent)


# -- processed ids (idempotency) ---------------------------------------------------------------
def _claim_sql(using: str) -> str:
    table = ProcessedJob._meta.db_table
    return f"INSERT OR IGNORE INTO {table} (job_id, processed_at) VALUES (%s, %s)"


def job_claim(*, job_id: str, using: str = "default") -> bool:
    """Record job_id as processed; False if it already was. Call inside the effect's atomic().

    Because the claim commits or rolls back with the effect, a redelivered job whose first
    run committed is skipped, and one whose first run died is done again.
    """
    with connections[using].cursor() as cur:
        cur.execute(_claim_sql(using), [job_id, timezone.now()])
        return cur.rowcount == 1


def jobs_claim(*, job_ids: list[str], using: str = "default") -> set[str]:
    """Claim many ids at once (batch handlers); return the ids that were not yet processed."""
    if not job_ids:
        return set()
    table = ProcessedJob._meta.db_table
    seen: set[str] = set()
    with connections[using].cursor() as cur:
        for i in range(0, len(job_ids), 500):
            chunk = job_ids[i : i + 500]
            marks = ",".join(["%s"] * len(chunk))
            cur.execute(f"SELECT job_id FROM {table} WHERE job_id IN ({marks})", chunk)
            seen.update(r[0] for r in cur.fetchall())
        new = [j for j in dict.fromkeys(job_ids) if j not in seen]
        now = timezone.now()
        cur.executemany(_claim_sql(using), [(j, now) for j in new])
    return set(new)


def processed_jobs_trim(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Forget processed ids older than any redelivery could be."""
    deleted, _ = ProcessedJob.objects.filter(processed_at__lt=timezone.now() - older_than).delete()
    return deleted


# -- dead letters ------------------------------------------------------------------------------
def deadletter_record(
    *,
    job_id: str,
    job_type: str,
    subject: str,
    data: bytes,
    headers: dict[str, str],
    error: str,
    reason: str,
    deliveries: int,
    stream_seq: int | None,
) -> DeadLetter:
    """Store (or re-mark after a failed replay) a dead job. Idempotent per job id."""
    now = timezone.now()
    with transaction.atomic():
        dl = DeadLetter.objects.filter(job_id=job_id).first()
        if dl is None:
            return DeadLetter.objects.create(
                job_id=job_id,
                type=job_type,
                subject=subject,
                data=data,
                headers=headers,
                error=error[:20000],
                reason=reason,
                deliveries=deliveries,
                stream_seq=stream_seq,
            )
        if dl.status == DeadLetter.Status.DEAD and dl.stream_seq == stream_seq:
            # The same death reported twice (the worker and the server's advisory).
            if error and not dl.error:
                dl.error = error[:20000]
                dl.save(update_fields=["error"])
            return dl
        dl.status = DeadLetter.Status.DEAD
        dl.error = error[:20000] or dl.error
        dl.reason = reason
        dl.deliveries = deliveries
        dl.stream_seq = stream_seq
        dl.times_dead = F("times_dead") + 1
        dl.last_dead_at = now
        dl.save()
        dl.refresh_from_db()
        return dl


def deadletter_replay(*, dead_letter: DeadLetter) -> str:
    """Publish the job again (fresh Nats-Msg-Id, same logical job id); return the new msg id.

    Raises if NATS does not acknowledge: a replay is an operator action, so it should fail
    loudly rather than go through the outbox.
    """
    from django.conf import settings

    from web.messaging.client import sync_publisher
    from web.messaging.config import CONFIG
    from web.messaging.envelope import JOB_ID, MSG_ID, new_id

    msg_id = f"{dead_letter.job_id[:40]}.r{new_id()[:12]}"
    headers = {**dead_letter.headers, MSG_ID: msg_id, JOB_ID: dead_letter.job_id}
    sync_publisher(settings.ENV.nats_url).publish(
        dead_letter.subject, bytes(dead_letter.data), headers, max(CONFIG.puback_timeout_s, 5.0)
    )
    DeadLetter.objects.filter(pk=dead_letter.pk).update(
        status=DeadLetter.Status.REPLAYED, replays=F("replays") + 1, replayed_at=timezone.now()
    )
    return msg_id


def deadletter_purge(*, ids: list[int] | None = None, status: str | None = None) -> int:
    """Delete dead letters (all, by id, or by status); return how many."""
    qs = DeadLetter.objects.all()
    if ids is not None:
        qs = qs.filter(id__in=ids)
    if status is not None:
        qs = qs.filter(status=status)
    deleted, _ = qs.delete()
    return deleted
