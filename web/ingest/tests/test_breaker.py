"""NATS frozen (SIGSTOP: the TCP connection stays up, nothing answers): after the first PubAck
stall, beacons go straight to the outbox (circuit breaker, web/messaging/breaker.py); after
SIGCONT a probe closes the breaker and the worker's relay stores each beacon exactly once."""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from web.core.testing import process_env, stop_group, wait_until
from web.env import REPO_ROOT
from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA
from web.messaging import client
from web.messaging.breaker import TRIP_AFTER_S
from web.messaging.jobs import enqueue
from web.messaging.models import OutboxJob
from web.stack.servers import free_port

UA = {"user-agent": BROWSER_UA}
FAST_S = 0.25  # the bound for a beacon while the breaker is open (issue 15, R6)
AFTER_FIRST = 12  # beacons sent after the first one stalled


def _outboxed_urls(web: WebProcess) -> list[str]:
    con = sqlite3.connect(web.data_dir / "ttl.db")
    try:
        rows = con.execute(
            "SELECT data FROM messaging_outboxjob WHERE subject = 'jobs.analytics.events'"
        ).fetchall()
    finally:
        con.close()
    return [e["url"] for (data,) in rows for e in json.loads(data)["events"]]


def _wait_closed(c: httpx.Client) -> None:
    """Until the web process's /metrics says its breaker closed (its probe got through)."""
    wait_until(
        lambda: _breaker_open(c) == 0,
        timeout=15,
        interval=0.2,
        message="the breaker closing",
        ignore=(httpx.HTTPError,),
    )


def _breaker_open(c: httpx.Client) -> float:
    for line in c.get("/metrics").text.splitlines():
        if line.startswith("hearth_nats_breaker_open "):
            return float(line.split()[1])
    raise AssertionError("hearth_nats_breaker_open missing from /metrics")


@pytest.mark.timeout(150)
def test_frozen_nats_opens_the_breaker_and_every_beacon_is_stored_once(
    ingest_web: WebProcess,
    nats_server,  # type: ignore[no-untyped-def]
) -> None:
    web, run = ingest_web, uuid.uuid4().hex[:8]
    key = web.site1_key()
    urls = [f"http://127.0.0.1/breaker-{run}/{i}" for i in range(AFTER_FIRST + 1)]
    seq = web.last_seq()
    log_start = web.log.stat().st_size
    pid = nats_server.proc.pid

    def beacon(c: httpx.Client, url: str) -> float:
        t0 = time.monotonic()
        r = c.post("/ingest/e", content=json.dumps({"k": key, "n": "pageview", "u": url}))
        assert r.status_code == 202, r.text
        return time.monotonic() - t0

    with httpx.Client(base_url=web.url, headers=UA, timeout=30) as c:
        assert _breaker_open(c) == 0
        os.kill(pid, signal.SIGSTOP)
        try:
            first = beacon(c, urls[0])  # waits for the PubAck stall, then the outbox
            took = [beacon(c, u) for u in urls[1:]]
            open_during = _breaker_open(c)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert first > 1.0, first  # the stall that opened the breaker
        assert max(took) < FAST_S, took
        assert open_during == 1
        assert set(urls) <= set(_outboxed_urls(web))

        _wait_closed(c)
        after = f"http://127.0.0.1/breaker-{run}/after"
        beacon(c, after)  # straight to the stream again
    assert after not in _outboxed_urls(web)
    log = web.log.read_bytes()[log_start:].decode(errors="replace")
    assert "NATS circuit breaker OPEN" in log and "NATS circuit breaker CLOSED" in log, log

    # The worker's relay republishes the outbox under the same Nats-Msg-Id. Only the notify
    # family is consumed, so the analytics packs stay in the stream for us to read.
    env = process_env(
        web.data_dir, nats=nats_server, port=free_port(), HEARTH_WORKER_FAMILIES="notify"
    )
    worker_log = web.data_dir / f"worker-{run}.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env,
        stdout=worker_log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(
            lambda: not set(urls) & set(_outboxed_urls(web)),
            timeout=60,
            interval=0.2,
            message="outbox relayed",
            ignore=(sqlite3.OperationalError,),
        )
    finally:
        stop_group(worker)
    events = web.wait_events(seq, len(urls) + 1)
    time.sleep(0.5)  # anything doubled would be there by now
    events = web.events_after(seq)
    counts = collections.Counter(e["url"] for e in events if f"breaker-{run}" in e["url"])
    assert counts == {u: 1 for u in [*urls, after]}, counts


@pytest.mark.django_db(databases=["default", "ttl"])
@pytest.mark.timeout(60)
def test_sync_enqueue_skips_a_frozen_nats_while_the_breaker_is_open(settings, nats_server) -> None:  # type: ignore[no-untyped-def]
    """The same breaker on the sync path (cron, on_commit): one stall, then the outbox at once."""
    settings.ENV = dataclasses.replace(
        settings.ENV, nats_url=nats_server.url, nats_monitor_url=nats_server.server.monitor_url
    )
    client._sync.pop(nats_server.url, None)  # a fresh publisher (and breaker) for this test
    run = uuid.uuid4().hex[:8]
    enqueue("images.process", {"image_id": 0}, id=f"brk-{run}-warm")  # connected, acked
    pub = client.sync_publisher(nats_server.url)
    assert not pub.link.breaker.is_open
    ids = [f"brk-{run}-{i}" for i in range(10)]
    pid = nats_server.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        enqueue("images.process", {"image_id": 1}, id=ids[0])  # the PubAck bound, then outbox
        first = time.monotonic() - t0
        took = []
        for job_id in ids[1:]:
            t0 = time.monotonic()
            enqueue("images.process", {"image_id": 1}, id=job_id)
            took.append(time.monotonic() - t0)
        was_open = pub.link.breaker.is_open
    finally:
        os.kill(pid, signal.SIGCONT)
    assert first >= 0.9, first
    assert max(took) < FAST_S, took
    assert was_open
    assert set(OutboxJob.objects.values_list("msg_id", flat=True)) == set(ids)
    wait_until(
        lambda: not pub.link.breaker.is_open,
        timeout=15,
        interval=0.2,
        message="the breaker closing",
    )
    enqueue("images.process", {"image_id": 2}, id=f"brk-{run}-after")
    assert not OutboxJob.objects.filter(msg_id=f"brk-{run}-after").exists()


@pytest.mark.timeout(60)
def test_beacons_queued_behind_a_hung_publish_leave_when_the_breaker_opens(
    ingest_web: WebProcess,
    nats_server,  # type: ignore[no-untyped-def]
) -> None:
    """Beacons that arrive while the first publish hangs are outboxed once that publish has
    had no PubAck for TRIP_AFTER_S, not after its whole stall (3 s)."""
    web, run = ingest_web, uuid.uuid4().hex[:8]
    key = web.site1_key()
    pid = nats_server.proc.pid

    def beacon(url: str) -> float:
        t0 = time.monotonic()
        r = httpx.post(
            f"{web.url}/ingest/e", headers=UA, timeout=30,
            content=json.dumps({"k": key, "n": "pageview", "u": url}),
        )  # fmt: skip
        assert r.status_code == 202, r.text
        return time.monotonic() - t0

    urls = [f"http://127.0.0.1/queued-{run}/{i}" for i in range(12)]
    os.kill(pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(len(urls)) as pool:
            first = pool.submit(beacon, urls[0])
            time.sleep(0.1)  # the first one's publish is now waiting on the frozen server
            queued = list(pool.map(beacon, urls[1:]))
            stalled = first.result()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert stalled > 2.0, stalled  # the publish that was in flight waits its whole stall
    assert max(queued) < TRIP_AFTER_S + 0.6, queued
    assert set(urls) <= set(_outboxed_urls(web))
    with httpx.Client(base_url=web.url) as c:
        _wait_closed(c)
