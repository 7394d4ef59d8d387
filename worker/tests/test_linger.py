"""A small batch lingers for more jobs only when the server holds no backlog (unit test of
FamilyRunner._linger's rule; the fetch loop and NATS are not involved)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from web.messaging.config import Family
from worker.runtime import FamilyRunner

FAMILY = Family(
    name="lingertest",
    ack_wait_s=30,
    max_deliver=5,
    backoff_s=(1,),
    batch=500,
    max_inflight=1000,
    max_runtime_s=60,
    threads=1,
    batch_linger_s=30.0,
)


async def _linger_done_within(server_pending: int, seconds: float) -> bool:
    worker = SimpleNamespace(stopping=asyncio.Event())
    runner = FamilyRunner(worker, FAMILY)  # type: ignore[arg-type]
    runner.server_pending = server_pending
    runner.waiting["t"] = []
    items = [(object(), object()) for _ in range(3)]  # far below the batch size of 500
    for msg, _ in items:
        runner.active[id(msg)] = (msg, time.monotonic())  # fetched just now
    try:
        got = await asyncio.wait_for(runner._linger("t", items, FAMILY.batch), seconds)  # type: ignore[arg-type]
    except TimeoutError:
        return False
    finally:
        runner.executor.shutdown()
    assert got == items
    return True


@pytest.mark.parametrize(("pending", "lingers"), [(0, True), (1, False), (40_000, False)])
def test_a_small_batch_lingers_only_without_a_backlog(pending: int, lingers: bool) -> None:
    done = asyncio.run(_linger_done_within(pending, 0.5))
    assert done is not lingers
