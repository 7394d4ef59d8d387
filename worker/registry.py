"""Maps a job type to its handler; apps register handlers in web/<app>/jobs.py.

Handlers are sync functions run in worker threads, so they use the ORM like any view.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web.messaging.config import CONFIG
from web.messaging.envelope import _TYPE_RE
from worker.context import BatchContext, JobContext

log = logging.getLogger("worker")

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
    m = _TYPE_RE.match(job_type)
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
