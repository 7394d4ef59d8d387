"""Lean ASGI routes of this app, mounted in front of Django by web/asgi.py."""

from __future__ import annotations

import asyncio
import signal
import threading

from web.core.asgi_router import LeanRouter
from web.live import sse
from web.live.runtime import get_runtime


def register(router: LeanRouter) -> None:
    """Public SSE skips Django (ADR-4); the process's one NATS subscription follows the
    lifespan."""
    router.route(sse.PATH, sse.app)

    async def startup() -> None:
        await get_runtime().start()
        _end_streams_on_exit_signal()

    async def shutdown() -> None:
        await get_runtime().stop()

    router.on_startup(startup)
    router.on_shutdown(shutdown)


def _end_streams_on_exit_signal() -> None:
    """Finish every SSE response when the server is told to stop.

    uvicorn waits for open responses before it runs the lifespan shutdown, and an SSE response
    never ends by itself, so without this every stop would wait for the graceful timeout.
    The server's own handler (uvicorn, also under gunicorn's worker) still runs after ours.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum, frame, previous=previous):  # type: ignore[no-untyped-def]
            loop.call_soon_threadsafe(get_runtime().hub.close_all)
            previous(signum, frame)

        signal.signal(sig, handler)
