"""The settle policy: what the worker tells JetStream about every job, in one place.

A job is settled only after its handler returned, i.e. after its transaction committed, so
a lost ack means a redelivery, which idempotency absorbs (acks are fire-and-forget).
"Last delivery" means ``delivered >= family.max_deliver``.

=======================================  ===================================  =====================
outcome of a delivery                    action                               counted
=======================================  ===================================  =====================
the handler returned (a batch: the job   ack                                  processed
not reported otherwise)
Retry(delay), ctx.retry(i, delay)        NAK after delay                      failed
any other exception, ctx.fail(i, e)      NAK after backoff_for(delivered)     failed
either of those on the last delivery     dead letter max_deliveries, TERM     failed, dead_lettered
Permanent, ctx.permanent(i, why), or     dead letter permanent, TERM          failed, dead_lettered
a body that is not a JSON object
no handler registered for the type       dead letter no_handler, TERM         failed, dead_lettered
the dead letter could not be recorded    NAK after backoff_for(delivered)     failed
the last delivery was never settled      dead letter max_deliveries,          dead_lettered
(worker died, or past ack_wait): the     delete it from JOBS
server's MAX_DELIVERIES advisory
the settle call fails (connection lost)  nothing: redelivered after ack_wait
=======================================  ===================================  =====================

Recording the dead letter in data.db comes before the TERM: if the worker dies in between,
the advisory path catches the job. After recording, a live hint goes out on
``events.alerts.deadletters`` (losing it loses nothing). The errors a handler raises are
defined in the job contract (``web/messaging/handlers.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from web.messaging import services
from web.messaging.config import CONFIG, STREAM, Family
from web.messaging.counters import Counters
from web.messaging.envelope import CREATED_AT, job_id_of, type_of_subject
from web.messaging.handlers import Job, Outcome, Permanent, Registration, Retry
from web.messaging.models import DeadLetter

log = logging.getLogger("worker")
ALERT_SUBJECT = "events.alerts.deadletters"


def outcome_of(exc: BaseException) -> Outcome:
    """The outcome of a handler call that raised `exc`."""
    if isinstance(exc, Retry):
        return Outcome("retry", delay=exc.delay, error=f"Retry: {exc}")
    if isinstance(exc, Permanent):
        return Outcome("permanent", error=f"Permanent: {exc}")
    return Outcome("fail", error="".join(traceback.format_exception(exc)))


def unrunnable(job: Job, reg: Registration | None) -> tuple[Outcome, str] | None:
    """(outcome, dead-letter reason) of a job no handler can be called for, else None."""
    if job.payload is None:
        return Outcome("permanent", error="body is not a JSON object"), ""
    if reg is None:
        oc = Outcome("permanent", error=f"no handler registered for {job.type!r}")
        return oc, DeadLetter.Reason.NO_HANDLER
    return None


@dataclass(frozen=True)
class Action:
    """What to tell the server: "ack", "nak" after `delay`, or "dead_letter" with `reason`
    (then TERM; `delay` is the NAK delay if the dead letter cannot be recorded)."""

    verb: str
    delay: float = 0.0
    reason: str = ""


def decide(outcome: Outcome, *, delivered: int, family: Family, reason: str = "") -> Action:
    """The table above, for one settled job (`reason` overrides the dead-letter reason)."""
    if outcome.kind == "ack":
        return Action("ack")
    if outcome.kind == "permanent" or delivered >= family.max_deliver:
        why = reason or (
            DeadLetter.Reason.PERMANENT
            if outcome.kind == "permanent"
            else DeadLetter.Reason.MAX_DELIVERIES
        )
        return Action("dead_letter", delay=family.backoff_for(delivered), reason=why)
    delay = outcome.delay if outcome.kind == "retry" else family.backoff_for(delivered)
    return Action("nak", delay=delay)


class Settler:
    """Applies the table: settles messages, records dead letters, handles the advisories."""

    def __init__(self, nc: NATS, js: JetStreamContext, counters: Counters, db: Executor) -> None:
        self.nc = nc
        self.js = js
        self.counters = counters
        self.db = db  # one thread: dead letters are written off the event loop

    async def settle(
        self, msg: Msg, job: Job, outcome: Outcome, family: Family, reason: str = ""
    ) -> None:
        """Settle one message; never raises (a failed settle is left to redelivery)."""
        try:
            action = decide(outcome, delivered=job.delivered, family=family, reason=reason)
            if action.verb == "ack":
                await msg.ack()
                self.counters.inc(family.name, "processed")
                return
            self.counters.inc(family.name, "failed")
            if action.verb == "dead_letter":
                why = action.reason
                if await self.dead_letter(msg.subject, msg.data, job, why, outcome.error):
                    await msg.term()
                    self.counters.inc(family.name, "dead_lettered")
                    log.warning("job %s %s dead-lettered (%s)", job.type, job.id, why)
                else:  # could not record: leave it to redelivery or the advisory path
                    await msg.nak(delay=action.delay)
                return
            log.info(
                "job %s %s delivery %d: %s; retry in %.1fs",
                job.type,
                job.id,
                job.delivered,
                (outcome.error.strip().splitlines() or [""])[-1],
                action.delay,
            )
            await msg.nak(delay=action.delay)
        except Exception as exc:  # connection lost: the server redelivers after ack_wait
            log.warning("could not settle job %s: %r", job.id, exc)

    async def dead_letter(
        self, subject: str, data: bytes, job: Job, reason: str, error: str
    ) -> bool:
        """Record the dead letter in data.db (True if stored) and tell staff about it."""
        loop = asyncio.get_running_loop()
        try:
            dl = await loop.run_in_executor(
                self.db,
                lambda: services.deadletter_record(
                    job_id=job.id,
                    job_type=job.type,
                    subject=subject,
                    data=data,
                    headers=job.headers,
                    error=error,
                    reason=reason,
                    deliveries=job.delivered,
                    stream_seq=job.stream_seq,
                ),
            )
        except Exception:
            log.exception("could not record dead letter for job %s", job.id)
            return False
        # A live hint for the admin (events.alerts.deadletters); losing it loses nothing.
        alert = {"type": "deadletter", "id": dl.id, "job_type": job.type, "reason": reason}
        with contextlib.suppress(Exception):
            await self.nc.publish(
                ALERT_SUBJECT,
                json.dumps(alert).encode(),
                headers={"Nats-Msg-Id": f"deadletter-{dl.id}-{dl.times_dead}"},
            )
        return True

    async def max_deliveries(self, adv: dict[str, Any]) -> None:
        """Dead-letter the job of a MAX_DELIVERIES advisory (its last delivery was never
        settled) and delete it from JOBS (a WorkQueue stream keeps it otherwise)."""
        seq = int(adv["stream_seq"])
        try:
            raw = await self.js.get_msg(STREAM, seq)
        except NotFoundError:
            return  # settled after all, or already handled
        headers = dict(raw.headers or {})
        family = str(adv.get("consumer", "")).removeprefix("jobs-")
        fam = CONFIG.families.get(family)
        wait = f"{fam.ack_wait_s:g}s" if fam else "ack_wait"
        job = Job(
            id=job_id_of(headers) or f"seq-{seq}",
            type=type_of_subject(raw.subject or ""),
            payload={},
            headers=headers,
            delivered=int(adv.get("deliveries", 0)),
            stream_seq=seq,
            created_at=headers.get(CREATED_AT, ""),
        )
        error = (
            f"delivery {job.delivered} was never settled: the worker died or the handler ran "
            f"longer than ack_wait ({wait}) without heartbeats"
        )

        subject, data = raw.subject or "", raw.data or b""
        if await self.dead_letter(subject, data, job, DeadLetter.Reason.MAX_DELIVERIES, error):
            with contextlib.suppress(NotFoundError):
                await self.js.delete_msg(STREAM, seq)
            self.counters.inc(family or "unknown", "dead_lettered")
            log.warning("job %s %s dead-lettered (max deliveries, unsettled)", job.type, job.id)
