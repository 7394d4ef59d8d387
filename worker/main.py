"""Worker entry point: set up Django, connect to NATS (reconnecting forever), run consumers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import django

log = logging.getLogger("worker")


async def run() -> None:
    import nats
    from django.conf import settings

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    nc = await nats.connect(
        settings.ENV.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5, name="worker"
    )
    log.info("worker connected to %s", settings.ENV.nats_url)
    await stop.wait()
    await nc.drain()
    log.info("worker stopped")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    django.setup()
    asyncio.run(run())
