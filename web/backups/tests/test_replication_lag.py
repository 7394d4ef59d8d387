"""Replication lag by position (issue 15, reliability 5), with real Litestream and SeaweedFS.

Litestream's ``/metrics`` gives its local TXID; the replica's position is the newest level-0
LTX file name in the backup bucket. A quiet spell must not make the next commit look late,
and a check must not list the whole replica prefix.
"""

from __future__ import annotations

import dataclasses
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from web.backups.tests.test_restore_drill import PRAGMAS, Box, wait_replicated
from web.core import litestream as selectors
from web.core.litestream import REPLICA_PATH, STALE_AFTER_S, replication_status
from web.core.s3 import local_client
from web.core.testing import wait_until
from web.core.testing.stores import env_for, litestream, own_s3
from web.stack.servers import free_port


class SlowProxy:
    """A TCP forwarder to 127.0.0.1:``port`` that holds each request chunk ``delay`` s: an
    object store under load, as Litestream sees it (uploads take a while)."""

    def __init__(self, port: int) -> None:
        self.delay = 0.0
        self.upstream = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, slow: bool) -> None:
        try:
            while chunk := src.recv(65536):
                if slow and self.delay:
                    time.sleep(self.delay)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


@contextmanager
def slow_box(s3_server, data_dir: Path) -> Iterator[tuple[Box, SlowProxy]]:  # type: ignore[no-untyped-def]
    """test_restore_drill's box, but Litestream reaches its SeaweedFS through a SlowProxy;
    the status check (``box.env``) reads SeaweedFS directly."""
    data_dir.mkdir()
    port = free_port()
    env = env_for(settings.ENV, f"http://127.0.0.1:{port}", data_dir=data_dir,
                  offsite_endpoint=s3_server.endpoint, bucket_public="public",
                  bucket_private="private", bucket_backup="backup")  # fmt: skip
    db = sqlite3.connect(env.data_db, isolation_level=None)
    db.executescript(PRAGMAS + "CREATE TABLE posts(id INTEGER PRIMARY KEY, title TEXT, body TEXT);")
    try:
        with own_s3(data_dir / "s3", port=port):
            proxy = SlowProxy(port)
            try:
                via_proxy = dataclasses.replace(env, s3_endpoint=f"http://127.0.0.1:{proxy.port}")
                with litestream(via_proxy) as url:
                    yield Box(dataclasses.replace(env, litestream_url=url), db), proxy
            finally:
                proxy.close()
    finally:
        db.close()


@pytest.fixture
def slow(s3_server, tmp_path: Path) -> Iterator[tuple[Box, SlowProxy]]:  # type: ignore[no-untyped-def]
    with slow_box(s3_server, tmp_path / "data") as pair:
        yield pair


@pytest.fixture
def box(slow: tuple[Box, SlowProxy]) -> Box:
    return slow[0]


@pytest.fixture
def s3_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every S3 request the selectors make, by operation name."""
    seen: list[str] = []

    def counting(env: Any, **kwargs: Any) -> Any:
        client = local_client(env, **kwargs)
        client.meta.events.register(
            "before-send.s3.*", lambda request, **_: seen.append(request.method)
        )
        return client

    monkeypatch.setattr(selectors, "local_client", counting)
    return seen


def test_one_commit_after_a_quiet_spell_is_not_reported_behind(
    slow: tuple[Box, SlowProxy],
) -> None:
    box, proxy = slow
    box.write_posts(["first"])
    wait_replicated(box.env)
    time.sleep(STALE_AFTER_S + 2)  # quiet: the replica's last write is now "old"

    proxy.delay = 0.5  # an upload takes a second or two, as under load
    box.write_posts(["after the quiet spell"])
    seen = []
    end = time.monotonic() + 6
    while time.monotonic() < end:
        status = replication_status(box.env)
        seen.append(status)
        # The old code: "replica is 1 transactions behind" while the upload is under way.
        assert status["ok"], status
        time.sleep(0.1)
    assert any(s["lag_txids"] for s in seen), "the upload was never seen in flight"
    assert seen[-1]["lag_txids"] == 0, seen[-1]


def test_a_lag_longer_than_the_grace_period_is_behind(
    slow: tuple[Box, SlowProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, proxy = slow
    box.write_posts(["first"])
    wait_replicated(box.env)
    monkeypatch.setattr(selectors, "STALE_AFTER_S", 1.0)
    proxy.delay = 4.0
    box.write_posts(["stuck"])

    def behind() -> dict[str, Any] | None:
        status = replication_status(box.env)
        return None if status["ok"] else status

    status = wait_until(behind, timeout=8, interval=0.1, message="replication reported behind")
    assert not status["ok"] and "transactions behind" in status["detail"], status
    assert status["lag_s"] >= 1.0  # rounded to 0.1 s


def test_a_check_does_not_list_the_whole_replica_prefix(box: Box, s3_requests: list[str]) -> None:
    # A replica prefix of 1,100 objects (snapshots and compacted levels grow like this):
    # listing it all is two LIST pages per check.
    client = local_client(box.env)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=box.env.bucket_backup,
                                                  Key=f"{REPLICA_PATH}/padding/{i:05d}", Body=b""),
                      range(1100)))  # fmt: skip
    box.write_posts(["one"])
    wait_replicated(box.env)

    durations = []
    for _ in range(5):
        s3_requests.clear()
        started = time.perf_counter()
        status = replication_status(box.env)
        durations.append(time.perf_counter() - started)
        assert status["ok"] and status["lag_txids"] == 0, status
        assert len(s3_requests) == 1, s3_requests  # the old code: 2 (every page of the prefix)
    assert max(durations) < 1.0, durations
