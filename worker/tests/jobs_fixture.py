"""Test-only handlers, loaded by a test worker through HEARTH_WORKER_JOBS.

Effects go to a plain table `test_effects` in data.db (created by ensure_table), so tests
can count exactly how many times each job took effect.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from web.messaging.handlers import (
    BatchContext,
    JobContext,
    Permanent,
    Retry,
    batch_handler,
    handler,
)
from web.messaging.services import job_claim, jobs_claim

DDL = (
    "CREATE TABLE IF NOT EXISTS test_effects ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " n INTEGER, delivered INTEGER)"
)


def _effect(job_id: str, kind: str, n: Any, delivered: int) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO test_effects (job_id, kind, n, delivered) VALUES (%s, %s, %s, %s)",
            [job_id, kind, n, delivered],
        )


@handler("notify.test_once", once=True)
def test_once(payload: dict[str, Any], ctx: JobContext) -> None:
    """Record one effect; the runtime's once=True does the claim and the transaction."""
    _effect(ctx.job_id, "once", payload.get("n"), ctx.delivered)


@handler("notify.test_effect")
def test_effect(payload: dict[str, Any], ctx: JobContext) -> None:
    """Work (sleep) outside the transaction, then claim the id and record the effect."""
    healed = payload.get("poison_unless")
    if payload.get("poison") or (healed and not os.path.exists(healed)):
        raise RuntimeError(f"poison job {payload.get('n')}")
    if payload.get("permanent"):
        raise Permanent("told to fail permanently")
    if ctx.delivered <= payload.get("retry_times", 0):
        raise Retry(delay=0.2, reason="told to retry")
    if payload.get("sleep"):
        time.sleep(float(payload["sleep"]))
    with transaction.atomic():
        if job_claim(job_id=ctx.job_id):
            _effect(ctx.job_id, "single", payload.get("n"), ctx.delivered)


@batch_handler("analytics.test_batch")
def test_batch(payloads: list[dict[str, Any]], ctx: BatchContext) -> None:
    """One transaction per batch; poison payloads fail alone, the rest commit."""
    sleep = max((float(p.get("sleep", 0)) for p in payloads), default=0.0)
    with transaction.atomic():
        good = [i for i, p in enumerate(payloads) if not p.get("poison")]
        new = jobs_claim(job_ids=[ctx.jobs[i].id for i in good])
        for p in payloads:
            if p.get("started"):  # tells a test the batch now runs (and holds its slot)
                Path(p["started"]).touch()
        if sleep:
            time.sleep(sleep)  # inside the transaction: a kill here must roll back
        for i in good:
            job = ctx.jobs[i]
            if job.id in new:
                new.discard(job.id)
                _effect(job.id, "batch", payloads[i].get("n"), job.delivered)
        if any(p.get("record_calls") for p in payloads):
            # One row per handler call, n = its size (the group-commit test counts them).
            _effect(f"call-{ctx.jobs[0].id}", "call", len(payloads), ctx.jobs[0].delivered)
    for i, p in enumerate(payloads):
        if p.get("poison"):
            ctx.fail(i, f"poison batch job {p.get('n')}")
