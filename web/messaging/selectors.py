"""Reads of the messaging context: dead letters, outbox, and the queue summary."""

from __future__ import annotations

import time
from typing import Any

import httpx
from django.conf import settings
from django.db.models import QuerySet

from web.messaging import counters
from web.messaging.config import CONFIG, STREAM
from web.messaging.models import DeadLetter, OutboxJob

MONITOR_TIMEOUT_S = 2.0


def deadletters(*, status: str | None = None, job_type: str | None = None) -> QuerySet[DeadLetter]:
    qs = DeadLetter.objects.all()
    if status:
        qs = qs.filter(status=status)
    if job_type:
        qs = qs.filter(type=job_type)
    return qs


def outbox_count() -> int:
    return OutboxJob.objects.count()


def _jetstream_state(monitor_url: str) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """JOBS stream state and its consumers' state, from the server's /jsz endpoint."""
    r = httpx.get(
        f"{monitor_url}/jsz", params={"streams": "true", "consumers": "true"}, timeout=2.0
    )
    r.raise_for_status()
    for account in r.json().get("account_details", []):
        for stream in account.get("stream_detail", []) or []:
            if stream.get("name") == STREAM:
                consumers = {c["name"]: c for c in stream.get("consumer_detail", []) or []}
                return stream.get("state", {}), consumers
    return None, {}


def queue_summary() -> dict[str, Any]:
    """Everything an operator needs at a glance; never raises (errors are reported inside).

    {"families": {name: {lag, ack_pending, redelivering, processed, failed, redelivered,
    dead_lettered}}, "stream": {messages, bytes} | None, "outbox": n, "dead_letters": n,
    "worker": {"pid", "seen_s_ago"} | None, "errors": [...]}.
    ``lag`` is the consumer's num_pending (stored, not yet delivered); ``ack_pending`` is
    delivered but not yet acked. processed/failed/redelivered/dead_lettered are the
    worker's counters since its data dir was created.
    """
    errors: list[str] = []
    stream: dict[str, Any] | None = None
    consumers: dict[str, dict[str, Any]] = {}
    try:
        stream, consumers = _jetstream_state(settings.ENV.nats_monitor_url)
    except Exception as exc:
        errors.append(f"nats monitor: {exc!r}")
    snapshot = counters.read(settings.ENV.data_dir)
    worker_counts = snapshot.get("families", {})
    families: dict[str, dict[str, Any]] = {}
    for name, fam in CONFIG.families.items():
        c = consumers.get(fam.consumer, {})
        w = worker_counts.get(name, {})
        families[name] = {
            "lag": c.get("num_pending"),
            "ack_pending": c.get("num_ack_pending"),
            "redelivering": c.get("num_redelivered"),
            **{k: int(w.get(k, 0)) for k in counters.KEYS},
        }
    out: dict[str, Any] = {
        "families": families,
        "stream": (
            {"messages": stream.get("messages", 0), "bytes": stream.get("bytes", 0)}
            if stream is not None
            else None
        ),
        "worker": (
            {
                "pid": snapshot.get("pid"),
                "seen_s_ago": round(time.time() - float(snapshot["updated_at"]), 1),
            }
            if snapshot.get("updated_at")
            else None
        ),
        "errors": errors,
    }
    try:
        out["outbox"] = outbox_count()
        out["dead_letters"] = DeadLetter.objects.filter(status=DeadLetter.Status.DEAD).count()
    except Exception as exc:
        errors.append(f"database: {exc!r}")
        out["outbox"] = out["dead_letters"] = None
    return out
