"""A real web process (gunicorn + uvicorn worker, as the stack runs it) on the session's
real nats-server, and a reader for the analytics.events packs it publishes to JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from web.core.testing import migrate, process_env, stop_group, wait_http, wait_until
from web.env import REPO_ROOT
from web.stack.servers import free_port

SUBJECT = "jobs.analytics.>"  # analytics.event jobs and analytics.events packs


@dataclass
class WebProcess:
    url: str
    data_dir: Path
    nats_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def site1_key(self) -> str:
        """The public key of site 1 (the data dir's first site), for beacons' ``k``."""
        con = sqlite3.connect(self.data_dir / "data.db")
        try:
            return str(
                con.execute("SELECT public_key FROM analytics_site WHERE id = 1").fetchone()[0]
            )
        finally:
            con.close()

    def last_seq(self) -> int:
        return _run(_last_seq(self.nats_url))

    def events_after(self, seq: int) -> list[dict[str, Any]]:
        """Analytics events stored in the JOBS stream after ``seq`` (packs unpacked)."""
        return _run(_read(self.nats_url, seq))

    def wait_events(self, seq: int, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The events after ``seq`` once ``count`` arrived; after ``timeout``, those that did
        (the caller's asserts say what is missing)."""
        with contextlib.suppress(AssertionError):
            return wait_until(
                lambda: len(events := self.events_after(seq)) >= count and events,
                timeout=timeout,
                interval=0.2,
            )
        return self.events_after(seq)


def _run(coro: Any) -> Any:
    # In a thread: Playwright's sync API keeps an event loop on the test's thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _last_seq(url: str) -> int:
    import nats

    nc = await nats.connect(url)
    try:
        info = await nc.jsm().stream_info("JOBS")
        return info.state.last_seq
    finally:
        await nc.close()


async def _read(url: str, after: int) -> list[dict[str, Any]]:
    import nats
    from nats.js.errors import NotFoundError

    nc = await nats.connect(url)
    out = []
    try:
        jsm = nc.jsm()
        seq = after + 1
        while True:
            try:
                msg = await jsm.get_msg("JOBS", seq=seq, subject=SUBJECT, next=True)
            except NotFoundError:
                break
            payload = json.loads(msg.data)
            if msg.subject == "jobs.analytics.events":
                out.extend(payload["events"])
            else:
                out.append(payload)
            seq = msg.seq + 1
    finally:
        await nc.close()
    return out


async def _ensure_stream(url: str) -> None:
    """Create the JOBS stream the way every Hearth process does (idempotent)."""
    import nats

    from web.messaging.streams import ensure_jobs_stream

    nc = await nats.connect(url)
    try:
        await ensure_jobs_stream(nc.jetstream())
    finally:
        await nc.close()


def _env(data_dir: Path, nats_server: Any, port: int) -> dict[str, str]:
    return process_env(data_dir, nats=nats_server, port=port)


@pytest.fixture(scope="session")
def ingest_web(nats_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    data_dir = tmp_path_factory.mktemp("ingest-web")
    port = free_port()
    env = _env(data_dir, nats_server, port)
    py = sys.executable
    migrate(env)
    log = data_dir / "web.log"
    proc = subprocess.Popen(
        [
            str(Path(py).parent / "gunicorn"), "web.asgi:application",
            "--worker-class", "web.core.gunicorn_worker.HearthUvicornWorker", "--workers", "1",
            "--bind", f"127.0.0.1:{port}",
        ],
        cwd=REPO_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    web = WebProcess(url, data_dir, nats_server.url, proc, log)
    try:
        wait_http(f"{url}/ingest/t.js", timeout=60, message="gunicorn (ingest tests)")
        asyncio.run(_ensure_stream(nats_server.url))
        yield web
    finally:
        stop_group(proc)
