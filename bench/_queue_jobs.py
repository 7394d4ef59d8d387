"""No-op handlers for bench/queue.py: the benchmark measures the queue, not the work."""

from __future__ import annotations

from typing import Any

from web.messaging.handlers import BatchContext, JobContext, batch_handler, handler


@handler("notify.bench")
def bench_single(payload: dict[str, Any], ctx: JobContext) -> None:
    return None


@batch_handler("analytics.bench")
def bench_batch(payloads: list[dict[str, Any]], ctx: BatchContext) -> None:
    return None
