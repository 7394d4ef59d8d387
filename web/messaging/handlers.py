"""The job contract: what an app writes to handle a job (in ``web/<app>/jobs.py``).

An app registers sync handlers with ``@handler`` / ``@batch_handler``, reads the job through
the context it is given, and raises ``Retry`` or ``Permanent`` on purpose. The worker
(``worker/``) imports the apps' job modules (``autodiscover``), runs the handlers in threads
and settles every job (``worker/settle.py`` has the table of outcome -> action). Apps import
this module only, never ``worker``: the worker is a process that calls the apps.

Handlers are sync functions run in worker threads, so they use the ORM like any view.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from web.messaging.config import CONFIG
from web.messaging.envelope import TYPE_RE

log = logging.getLogger("worker")  # only the worker process imports the job modules

# Errors: the one error hierarchy of job handlers.
#
# - ``Retry(delay)``: NAK with that delay (counts as a delivery; dead letter at max_deliver).
# - ``Permanent(reason)``: TERM now and record a dead letter; retrying cannot help.
# - any other exception: NAK with the family's backoff until max_deliver, then dead letter.


class JobError(Exception):
    """Root of the errors a handler raises on purpose."""


class Retry(JobError):
    """Try again after `delay` seconds (e.g. a remote peer said 429 or 503)."""

    def __init__(self, delay: float = 5.0, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay}s")
        self.delay = float(delay)


class Permanent(JobError):
    """This job can never succeed (bad payload, object gone); dead-letter it now."""


# Context: what a handler gets besides its payload, the job's identity and a way to say
# "still busy" and, for batch handlers, a way to report the outcome of each job.


@dataclass(frozen=True)
class Job:
    """One received job (the decoded envelope)."""

    id: str  # logical job id: Hearth-Job-Id if replayed, else Nats-Msg-Id
    type: str
    payload: dict[str, Any]
    headers: dict[str, str]
    delivered: int  # 1 on first delivery
    stream_seq: int
    created_at: str


@dataclass
class JobContext:
    job: Job
    _heartbeat: Callable[[], None] = field(repr=False, default=lambda: None)

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def delivered(self) -> int:
        return self.job.delivered

    def heartbeat(self) -> None:
        """Tell the server this job is still in progress (resets its ack_wait).

        The worker already does this automatically while a handler runs; call it in very
        long loops only if you want to be explicit. Thread-safe.
        """
        self._heartbeat()


@dataclass(frozen=True)
class Outcome:
    """How one job ended; the worker settles it (worker/settle.py)."""

    kind: str  # "ack" | "retry" | "fail" | "permanent"
    delay: float = 0.0
    error: str = ""


ACK = Outcome("ack")


@dataclass
class BatchContext:
    """Jobs of one fetched batch of one type, in the order of the payloads list.

    Every job is acked after the handler returns, unless the handler reported otherwise
    with retry()/fail()/permanent() by index. If the handler raises, the exception applies
    to every job of the batch.
    """

    type: str
    jobs: list[Job]
    _heartbeat: Callable[[], None] = field(repr=False, default=lambda: None)
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    @property
    def job_ids(self) -> list[str]:
        return [j.id for j in self.jobs]

    def retry(self, index: int, delay: float) -> None:
        """Redeliver job `index` after `delay` seconds (counts as a delivery)."""
        self.outcomes[self._check(index)] = Outcome("retry", delay=float(delay))

    def fail(self, index: int, error: str | BaseException) -> None:
        """Job `index` failed; it is retried with backoff until max_deliver."""
        self.outcomes[self._check(index)] = Outcome("fail", error=_text(error))

    def permanent(self, index: int, reason: str | BaseException) -> None:
        """Job `index` can never succeed; dead-letter it now."""
        self.outcomes[self._check(index)] = Outcome("permanent", error=_text(reason))

    def heartbeat(self) -> None:
        self._heartbeat()

    def _check(self, index: int) -> int:
        if not 0 <= index < len(self.jobs):
            raise IndexError(f"batch has {len(self.jobs)} jobs, no index {index}")
        return index


def _text(err: str | BaseException) -> str:
    return err if isinstance(err, str) else f"{type(err).__name__}: {err}"


# Registry: maps a job type to its handler.

Handler = Callable[[dict[str, Any], JobContext], None]
BatchHandler = Callable[[list[dict[str, Any]], BatchContext], None]


@dataclass(frozen=True)
class Registration:
    type: str
    fn: Callable[..., None]
    batch: bool
    once: bool  # wrap in atomic() + job_claim(): run at most once per job id (data.db)


HANDLERS: dict[str, Registration] = {}


def _register(job_type: str, fn: Callable[..., None], *, batch: bool, once: bool) -> None:
    m = TYPE_RE.match(job_type)
    if m is None or m["family"] not in CONFIG.families:
        raise ValueError(f"handler type {job_type!r} must be '<family>.<name>' of a known family")
    old = HANDLERS.get(job_type)
    if old is not None and old.fn is not fn:
        name = f"{old.fn.__module__}.{old.fn.__qualname__}"
        raise ValueError(f"job type {job_type!r} already has a handler: {name}")
    HANDLERS[job_type] = Registration(job_type, fn, batch, once)


def handler(job_type: str, *, once: bool = False) -> Callable[[Handler], Handler]:
    """Register fn(payload, ctx) for job_type.

    once=True runs fn inside ``transaction.atomic()`` on data.db after claiming ctx.job_id,
    so a redelivered job whose effect already committed is acked without running again.
    """

    def deco(fn: Handler) -> Handler:
        _register(job_type, fn, batch=False, once=once)
        return fn

    return deco


def batch_handler(job_type: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register fn(payloads, ctx) that gets every job of one fetched batch of job_type.

    The handler does one transaction for the whole batch and reports per-job outcomes via
    ctx (default: all acked). Use web.messaging.services.jobs_claim(job_ids=ctx.job_ids)
    inside that transaction to skip redelivered jobs.
    """

    def deco(fn: BatchHandler) -> BatchHandler:
        _register(job_type, fn, batch=True, once=False)
        return fn

    return deco


def job_modules() -> list[str]:
    """Modules to import: HEARTH_WORKER_JOBS (replaces discovery) or web.<app>.jobs of every
    installed app, plus HEARTH_WORKER_EXTRA_JOBS."""
    from django.apps import apps
    from django.conf import settings

    modules = list(settings.ENV.worker_jobs)
    if not modules:
        for cfg in apps.get_app_configs():
            name = f"{cfg.name}.jobs"
            if cfg.name.startswith("web.") and importlib.util.find_spec(name) is not None:
                modules.append(name)
    return modules + [m for m in settings.ENV.worker_extra_jobs if m not in modules]


def autodiscover() -> list[str]:
    """Import the job modules (a broken module stops the worker: its jobs would be lost)."""
    modules = job_modules()
    for name in modules:
        importlib.import_module(name)
    log.info("job handlers: %s", ", ".join(sorted(HANDLERS)) or "(none)")
    return modules
