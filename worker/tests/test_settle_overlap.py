"""A batch's acks do not hold up the next batch (unit test of FamilyRunner.run_batches; the
fetch loop and NATS are not involved): while hundreds of acks of one batch go out, the
handler thread already runs the next one."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from web.messaging.config import Family
from web.messaging.handlers import Registration
from worker.runtime import FamilyRunner
from worker.settle import Settler

FAMILY = Family(
    name="settletest",
    ack_wait_s=30,
    max_deliver=5,
    backoff_s=(1,),
    batch=2,
    max_inflight=1000,
    max_runtime_s=60,
    threads=1,
)


class _Msg:
    """Acks wait for `gate`: as if the acks of a batch were still going out."""

    def __init__(self, gate: asyncio.Event) -> None:
        self.gate = gate
        self.acked = False

    async def ack(self) -> None:
        await self.gate.wait()
        self.acked = True


async def _scenario() -> tuple[list[int], list[_Msg]]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Event()
    calls: list[int] = []
    counted = threading.Lock()

    def handler(payloads: list[dict], ctx: object) -> None:
        with counted:
            calls.append(len(payloads))
        if len(calls) == 2:  # the second batch runs while the first one's acks wait
            loop.call_soon_threadsafe(gate.set)

    counters = SimpleNamespace(inc=lambda *a: None)
    settler = Settler(None, None, counters, None)  # type: ignore[arg-type]  # acks only
    worker = SimpleNamespace(stopping=asyncio.Event(), loop=loop, settler=settler)
    runner = FamilyRunner(worker, FAMILY)  # type: ignore[arg-type]
    msgs = [_Msg(gate) for _ in range(4)]
    job = SimpleNamespace(payload={}, id="j", delivered=1)
    runner.waiting["t"] = [(m, job) for m in msgs]  # two batches of FAMILY.batch = 2
    runner.batch_runners["t"] = 1
    runner.inflight = len(msgs)
    try:
        await asyncio.wait_for(runner.run_batches(Registration("t", handler, True, False)), 5)  # type: ignore[arg-type]
        await asyncio.wait_for(asyncio.gather(*runner.tasks), 5)
    finally:
        runner.executor.shutdown()
    return calls, msgs


def test_the_next_batch_runs_while_the_previous_acks_go_out() -> None:
    calls, msgs = asyncio.run(_scenario())
    assert calls == [2, 2]
    assert all(m.acked for m in msgs)
