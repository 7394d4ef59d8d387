"""Connecting to NATS the way live events need it: in the background, retrying forever.

nats-py gives up reconnecting after about two minutes by default and raises on a failed
first connect; a web process must instead wait for NATS as long as it lives.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client

log = logging.getLogger(__name__)

RETRY_S = 1.0


def nats_url() -> str:
    from django.conf import settings

    return settings.ENV.nats_url


async def connect_forever(
    url: str,
    *,
    name: str,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
) -> Client:
    """Return a connected client; retries the first connect and every reconnect forever."""

    async def error_cb(exc: Exception) -> None:
        log.debug("nats %s: %r", name, exc)

    async def reconnected_cb() -> None:
        log.info("nats %s: reconnected", name)
        if on_reconnect is not None:
            await on_reconnect()

    attempt = 0
    while True:
        try:
            return await nats.connect(
                url,
                name=f"hearth-{name}-{os.getpid()}",
                max_reconnect_attempts=-1,
                reconnect_time_wait=RETRY_S,
                connect_timeout=2,
                allow_reconnect=True,
                error_cb=error_cb,
                reconnected_cb=reconnected_cb,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt += 1
            if attempt in (1, 10) or attempt % 60 == 0:
                log.warning("nats %s: cannot connect to %s (%r); retrying", name, url, exc)
            await asyncio.sleep(RETRY_S)
