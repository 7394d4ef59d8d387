"""Worker entry point (`python -m worker`): set up Django, connect to NATS (reconnecting
forever), apply stream/consumer definitions, run the family consumers, drain on SIGTERM.

Environment: HEARTH_WORKER_FAMILIES (comma list, default all), HEARTH_WORKER_JOBS /
HEARTH_WORKER_EXTRA_JOBS (see web.messaging.handlers.job_modules), HEARTH_WORKER_DRAIN_S.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import django
import uvloop

log = logging.getLogger("worker")


async def run() -> int:
    from django.conf import settings

    from web.messaging.client import connect
    from web.messaging.config import CONFIG
    from web.messaging.handlers import autodiscover
    from web.messaging.streams import ensure_all
    from worker.runtime import Worker

    autodiscover()
    families = list(settings.ENV.worker_families) or list(CONFIG.families)
    unknown = sorted(set(families) - set(CONFIG.families))
    if unknown:
        log.error("HEARTH_WORKER_FAMILIES names unknown families: %s", ", ".join(unknown))
        return 2

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    connecting = loop.create_task(connect(settings.ENV.nats_url, name=f"worker-{os.getpid()}"))
    stopper = loop.create_task(stop.wait())
    await asyncio.wait([connecting, stopper], return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():
        connecting.cancel()
        return 0
    nc = connecting.result()
    js = nc.jetstream()
    log.info("worker connected to %s", settings.ENV.nats_url)
    while not stop.is_set():
        try:
            await ensure_all(js, families)
            break
        except Exception as exc:
            log.warning("applying stream/consumer definitions failed: %r; retrying", exc)
            await asyncio.wait([stopper], timeout=1)
    if stop.is_set():
        await nc.close()
        return 0

    worker = Worker(nc, js, families)
    worker.start()
    log.info("worker running families: %s", ", ".join(families))
    print("worker ready", flush=True)
    await stop.wait()
    log.info("SIGTERM: draining (up to %.0fs)", CONFIG.drain_s)
    drained = await worker.drain(CONFIG.drain_s)
    await nc.close()
    if not drained:
        log.error("drain timed out: unsettled jobs will be redelivered")
        return 3
    log.info("worker stopped cleanly")
    return 0


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    django.setup()
    # uvloop, as in the web processes: the stdlib selector loop and its self-pipe wake-ups
    # (one per finished handler call) were a quarter of the worker's CPU under ingest load.
    code = asyncio.run(run(), loop_factory=uvloop.new_event_loop)
    logging.shutdown()
    sys.stdout.flush()
    # Handler threads still running after a timed-out drain must not keep us alive.
    os._exit(code)
