"""The worker runtime: per family, fetch only when there is capacity, run handlers in threads,
settle each message after the effect committed, heartbeat long jobs, drain on SIGTERM.

What each outcome settles to (ack, NAK with a delay, dead letter then TERM) is decided in
one place, worker/settle.py; the handlers and their context are the job contract in
web/messaging/handlers.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections, transaction
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from web.core.health import HEARTBEAT_EVERY_S, worker_heartbeat_write
from web.messaging import jsoncodec, services
from web.messaging.config import ADVISORY_CONSUMER, ADVISORY_STREAM, CONFIG, STREAM, Family
from web.messaging.counters import Counters
from web.messaging.envelope import CREATED_AT, job_id_of, type_of_subject
from web.messaging.handlers import (
    ACK,
    HANDLERS,
    BatchContext,
    Job,
    JobContext,
    Outcome,
    Permanent,
    Registration,
    Retry,
)
from worker.settle import Settler, outcome_of, unrunnable

log = logging.getLogger("worker")
FETCH_TIMEOUT_S = 1.0  # also how fast a SIGTERM stops fetching


def decode(msg: Msg) -> Job:
    """The Job in a JetStream message; an undecodable body becomes payload None."""
    md = msg.metadata
    headers = dict(msg.headers or {})
    try:
        payload = jsoncodec.loads(msg.data) if msg.data else {}  # orjson, json's semantics
    except ValueError:
        payload = None
    return Job(
        id=job_id_of(headers) or f"seq-{md.sequence.stream}",
        type=type_of_subject(msg.subject),
        payload=payload if isinstance(payload, dict) else None,  # type: ignore[arg-type]
        headers=headers,
        delivered=md.num_delivered,
        stream_seq=md.sequence.stream,
        created_at=headers.get(CREATED_AT, ""),
    )


def _invoke_single(reg: Registration, job: Job, ctx: JobContext) -> None:
    close_old_connections()
    try:
        if reg.once:
            with transaction.atomic():
                if not services.job_claim(job_id=job.id):
                    return  # the effect of an earlier delivery committed: nothing to do
                reg.fn(job.payload, ctx)
        else:
            reg.fn(job.payload, ctx)
    except (Retry, Permanent):
        raise
    except Exception:
        # Logged with exc_info outside any transaction, in this worker thread, so the
        # error-capture log handler records it as an issue (web/analytics/errorlog.py).
        log.error("job %s %s raised", job.type, job.id, exc_info=True)
        raise


def _invoke_batch(reg: Registration, payloads: list[dict[str, Any]], ctx: BatchContext) -> None:
    close_old_connections()
    try:
        reg.fn(payloads, ctx)
    except (Retry, Permanent):
        raise
    except Exception:
        log.error("batch of %d %s jobs raised", len(payloads), reg.type, exc_info=True)
        raise


class FamilyRunner:
    """One family's pull loop. In-flight messages never exceed family.max_inflight."""

    def __init__(self, worker: Worker, family: Family) -> None:
        self.w = worker
        self.family = family
        self.inflight = 0
        self.slot_freed = asyncio.Event()
        self.active: dict[int, tuple[Msg, float]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.executor = ThreadPoolExecutor(
            max_workers=family.threads,
            thread_name_prefix=f"job-{family.name}",
        )
        # Batch jobs not yet in a handler call, and the batch loops running, per type.
        self.waiting: dict[str, list[tuple[Msg, Job]]] = {}
        self.batch_runners: dict[str, int] = {}
        # Messages the server still held for this consumer after the last fetch (from the
        # last message's metadata): a backlog, so a small batch need not linger.
        self.server_pending = 0

    async def fetch_loop(self) -> None:
        psub = None
        while not self.w.stopping.is_set():
            if self.inflight >= self.family.max_inflight:
                self.slot_freed.clear()
                await self.slot_freed.wait()  # pull only when there is capacity
                continue
            try:
                if psub is None:
                    psub = await self.w.js.pull_subscribe_bind(
                        durable=self.family.consumer, stream=STREAM
                    )
                want = min(self.family.batch, self.family.max_inflight - self.inflight)
                msgs = await psub.fetch(want, timeout=FETCH_TIMEOUT_S)
            except TimeoutError:
                continue
            except Exception as exc:
                log.warning("fetch %s failed: %r; retrying", self.family.name, exc)
                await asyncio.sleep(0.5)
                continue
            self.dispatch(msgs)

    def dispatch(self, msgs: list[Msg]) -> None:
        groups: dict[str, list[tuple[Msg, Job]]] = {}
        now = time.monotonic()
        if msgs:
            with contextlib.suppress(Exception):  # not a JetStream message: decode says so
                self.server_pending = msgs[-1].metadata.num_pending
        for msg in msgs:
            try:
                job = decode(msg)
            except Exception as exc:  # not a JetStream message: nothing to settle
                log.error("dropping a non-JetStream message on %s: %r", msg.subject, exc)
                continue
            self.inflight += 1
            self.active[id(msg)] = (msg, now)
            if job.delivered > 1:
                self.w.counters.inc(self.family.name, "redelivered")
            reg = HANDLERS.get(job.type)
            refused = unrunnable(job, reg)
            if refused is not None:
                oc, reason = refused
                self._spawn(self.settle(msg, job, oc, reason=reason))
            elif reg.batch:
                groups.setdefault(job.type, []).append((msg, job))
            else:
                self._spawn(self.run_single(reg, msg, job))
        for job_type, items in groups.items():
            waiting = self.waiting.setdefault(job_type, [])
            waiting.extend(items)  # the next batch takes everything that waited (group commit)
            running = self.batch_runners.get(job_type, 0)
            # A second concurrent batch only for a backlog (a full batch waiting): it overlaps
            # one batch's Python with the other's SQLite work, which releases the GIL.
            if running == 0 or (
                len(waiting) >= self.family.batch and running < self.family.threads
            ):
                self.batch_runners[job_type] = running + 1
                self._spawn(self.run_batches(HANDLERS[job_type]))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _heartbeat_from_thread(self, msgs: list[Msg]) -> None:
        asyncio.run_coroutine_threadsafe(self._beat(msgs), self.w.loop)

    async def _beat(self, msgs: list[Msg]) -> None:
        for m in msgs:
            with contextlib.suppress(Exception):
                await m.in_progress()

    async def heartbeat_loop(self) -> None:
        """Send in-progress for every running job (up to max_runtime_s) well inside ack_wait."""
        every = max(0.2, min(self.family.ack_wait_s / 3, 10.0))
        while not (self.w.stopped.is_set()):
            await asyncio.sleep(every)
            now = time.monotonic()
            due = [m for m, t0 in self.active.values() if now - t0 < self.family.max_runtime_s]
            await self._beat(due)

    async def run_single(self, reg: Registration, msg: Msg, job: Job) -> None:
        ctx = JobContext(job, lambda: self._heartbeat_from_thread([msg]))
        try:
            await self.w.loop.run_in_executor(self.executor, _invoke_single, reg, job, ctx)
            outcome = ACK
        except Exception as exc:
            outcome = outcome_of(exc)
        await self.settle(msg, job, outcome)

    async def run_batches(self, reg: Registration) -> None:
        """Run batches of one type while jobs of it wait, each taking all that waited.

        Under steady load each fetch returns a few messages, and a handler call per fetch
        paid its fixed cost (a transaction, a live update) for a handful of events while
        SQLite's single writer queued the threads anyway. Taking what waited instead makes
        a batch as large as the load (capped at the family's fetch size), so the cost per
        event falls as load rises. A small batch first lingers (Family.batch_linger_s).
        """
        cap = self.family.batch
        waiting = self.waiting[reg.type]
        try:
            while waiting:
                items = waiting[:cap]
                del waiting[: len(items)]
                items = await self._linger(reg.type, items, cap)
                await self.run_batch(reg, items)
        finally:
            self.batch_runners[reg.type] -= 1
            if self.batch_runners[reg.type] == 0 and waiting:
                # cancelled (shutdown): these are settled by redelivery after ack_wait
                log.warning("%d %s jobs left unsettled", len(waiting), reg.type)

    async def _linger(
        self, job_type: str, items: list[tuple[Msg, Job]], cap: int
    ) -> list[tuple[Msg, Job]]:
        """Let a small batch wait until its oldest job is batch_linger_s old, taking in what
        arrives meanwhile (the fetch loop keeps fetching), so that it commits as one.

        Not when the server reported a backlog: the batch is small only because a fetch
        was (the first after a restart or a pause, or one capped by max_inflight), and the
        next fetch is full anyway; lingering then only idled the worker (250 ms at the start
        of every backlog drain)."""
        linger = self.family.batch_linger_s
        if linger <= 0 or len(items) >= cap or self.w.stopping.is_set() or self.server_pending > 0:
            return items
        first = self.active.get(id(items[0][0]))
        left = linger - (time.monotonic() - first[1]) if first else 0.0
        if left > 0:
            await asyncio.sleep(left)
        waiting = self.waiting[job_type]
        more = waiting[: cap - len(items)]
        del waiting[: len(more)]
        return items + more

    async def run_batch(self, reg: Registration, items: list[tuple[Msg, Job]]) -> None:
        msgs = [m for m, _ in items]
        ctx = BatchContext(
            reg.type, [j for _, j in items], lambda: self._heartbeat_from_thread(msgs)
        )
        payloads = [j.payload for _, j in items]
        try:
            await self.w.loop.run_in_executor(self.executor, _invoke_batch, reg, payloads, ctx)
            outcomes = [ctx.outcomes.get(i, ACK) for i in range(len(items))]
        except Exception as exc:
            outcomes = [outcome_of(exc)] * len(items)
        # Settled in a task of its own: the next batch goes to the handler thread now, not
        # after hundreds of acks and the fetches they free (the thread idled ~9% of a drain).
        self._spawn(self._settle_all(items, outcomes))

    async def _settle_all(self, items: list[tuple[Msg, Job]], outcomes: list[Outcome]) -> None:
        await asyncio.gather(
            *(self.settle(m, j, oc) for (m, j), oc in zip(items, outcomes, strict=True))
        )

    async def settle(self, msg: Msg, job: Job, outcome: Outcome, reason: str = "") -> None:
        """Settle by the policy (worker/settle.py), then free the job's slot."""
        try:
            await self.w.settler.settle(msg, job, outcome, self.family, reason)
        finally:
            self.active.pop(id(msg), None)
            self.inflight -= 1
            self.slot_freed.set()


class Worker:
    def __init__(self, nc: NATS, js: JetStreamContext, families: list[str]) -> None:
        from django.conf import settings

        self.nc = nc
        self.js = js
        self.loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()  # stop fetching
        self.stopped = asyncio.Event()  # everything settled
        self.data_dir = settings.ENV.data_dir
        self.counters = Counters(self.data_dir, families)
        self.runners = [FamilyRunner(self, CONFIG.families[f]) for f in families]
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker-db")
        self.settler = Settler(nc, js, self.counters, self.db)
        self._loops: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.beat()  # at once: health sees a restarted worker before its first interval
        self._background.append(self.loop.create_task(self.liveness_loop()))
        for r in self.runners:
            self._loops.append(self.loop.create_task(r.fetch_loop()))
            self._background.append(self.loop.create_task(r.heartbeat_loop()))
        self._loops.append(self.loop.create_task(self.advisory_loop()))
        self._loops.append(self.loop.create_task(self.relay_loop()))
        self._background.append(self.loop.create_task(self.counters_loop()))

    async def drain(self, timeout: float) -> bool:
        """Stop fetching, let in-flight jobs finish and settle; True if all did in time."""
        self.stopping.set()
        for r in self.runners:
            r.slot_freed.set()
        await asyncio.wait(self._loops, timeout=FETCH_TIMEOUT_S + 2)
        done = True
        deadline = time.monotonic() + timeout
        # Tasks spawn tasks (a batch spawns its settling): wait until none is left.
        while tasks := [t for r in self.runners for t in r.tasks if not t.done()]:
            left = deadline - time.monotonic()
            if left <= 0:
                done = False
                break
            await asyncio.wait(tasks, timeout=left)
        self.stopped.set()
        for t in self._background:
            t.cancel()
        with contextlib.suppress(Exception):
            await self.nc.flush(timeout=2)  # acks are fire-and-forget: push them out
        self.counters.save()
        self.beat(stopped=True)  # health says "stopped" now, not after the stale limit
        return done

    def beat(self, *, stopped: bool = False) -> None:
        """Write the liveness heartbeat /healthz and `manage.py status` read
        (web/core/health.py); a failed write is logged and the next one retried."""
        try:
            worker_heartbeat_write(self.data_dir, stopped=stopped)
        except OSError as exc:
            log.warning("worker heartbeat not written: %r", exc)

    async def liveness_loop(self) -> None:
        """Beat every HEARTBEAT_EVERY_S on the event loop, idle or busy: a stuck loop or a
        dead process stops the beats (unlike the counters file, written only on change)."""
        while not self.stopped.is_set():
            await asyncio.sleep(HEARTBEAT_EVERY_S)
            self.beat()

    async def advisory_loop(self) -> None:
        """Dead-letter jobs whose last delivery was never settled (worker died, ack_wait)."""
        psub = None
        while not self.stopping.is_set():
            try:
                if psub is None:
                    psub = await self.js.pull_subscribe_bind(
                        durable=ADVISORY_CONSUMER, stream=ADVISORY_STREAM
                    )
                msgs = await psub.fetch(50, timeout=FETCH_TIMEOUT_S)
            except TimeoutError:
                continue
            except Exception as exc:
                log.warning("advisory fetch failed: %r", exc)
                await asyncio.sleep(0.5)
                continue
            for adv in msgs:
                try:
                    await self.settler.max_deliveries(json.loads(adv.data))
                    await adv.ack()
                except Exception:
                    log.exception("max-deliveries advisory not handled; will retry")
                    with contextlib.suppress(Exception):
                        await adv.nak(delay=5)

    async def relay_loop(self) -> None:
        """Republish outboxed jobs (written by web/cron while NATS was unreachable)."""
        while not self.stopping.is_set():
            n = 0
            if self.nc.is_connected:
                try:
                    n = await services.outbox_relay_once(self.js, timeout=CONFIG.pipeline_stall_s)
                except Exception as exc:
                    log.warning("outbox relay failed: %r", exc)
            if n < 1000:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), CONFIG.relay_interval_s)

    async def counters_loop(self) -> None:
        while True:
            await asyncio.sleep(2)
            if self.counters.dirty:
                with contextlib.suppress(OSError):
                    self.counters.save()
