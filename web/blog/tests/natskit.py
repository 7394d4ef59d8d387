"""Collect messages from a real NATS subject in a background thread (sync tests keep the
Django test transaction on the main thread)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import nats

from web.core.testing import wait_until


class Collector:
    def __init__(self, url: str, subject: str) -> None:
        self.url, self.subject = url, subject
        self.messages: list[dict[str, Any]] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        nc = await nats.connect(self.url)

        async def on_msg(msg: Any) -> None:
            self.messages.append(json.loads(msg.data))

        await nc.subscribe(self.subject, cb=on_msg)
        await nc.flush()
        self._ready.set()
        await self._stop.wait()
        await nc.close()

    def __enter__(self) -> Collector:
        self._thread.start()
        assert self._ready.wait(10), "could not subscribe to NATS"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def wait_for(self, n: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        """The messages so far, once there are at least ``n``."""
        wait_until(lambda: len(self.messages) >= n, timeout=timeout, interval=0.01,
                   message=f"{n} messages")  # fmt: skip
        return list(self.messages)
