"""The restore drill and point-in-time restore, with real SeaweedFS and real Litestream.

The box under test has its own SeaweedFS (its local object store, which the drill destroys)
and replicates data.db with ``litestream replicate -config deploy/litestream.yml``; offsite
is a fresh bucket on the session's S3 server.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings

from web.backups import offsite, restore
from web.backups.tests.support import child_env
from web.core.litestream import replication_status
from web.core.s3 import local_client
from web.core.testing import wait_until
from web.core.testing.stores import env_for, litestream, own_s3
from web.env import REPO_ROOT, Env
from web.stack.servers import free_port

PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"


@dataclasses.dataclass
class Box:
    env: Env
    db: sqlite3.Connection

    def write_posts(self, titles: list[str]) -> None:
        with self.db:
            self.db.executemany("INSERT INTO posts(title, body) VALUES (?, ?)",
                                [(t, f"body of {t}" * 20) for t in titles])  # fmt: skip

    def write_events(self, n: int, tag: str) -> None:
        with self.db:
            self.db.executemany("INSERT INTO events(name, at) VALUES (?, ?)",
                                [(f"{tag}-{i}", time.time()) for i in range(n)])  # fmt: skip


def _segment_bytes(path: Path) -> bytes:
    """A real one-event history segment (web/analytics/history/schema.py's columns)."""
    import duckdb

    from web.analytics.history import schema

    values = {"site_id": "1", "ts": "TIMESTAMP '2026-01-01 10:00:00'", "seq": "1",
              "kind": "'pageview'", "path": "'/'", "session_id": str(1 << 40),
              "props": "MAP {}::MAP(VARCHAR, VARCHAR)"}  # fmt: skip
    default = {"VARCHAR": "''", "TIMESTAMP": "NULL"}
    cols = [
        f"CAST({values.get(c, default.get(t, '0'))} AS {t}) AS {c}"
        if c != "props"
        else f"{values['props']} AS props"
        for c, t, _ in schema.COLUMNS
    ]
    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT {', '.join(cols)}) TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    data = path.read_bytes()
    path.unlink()
    return data


@contextmanager
def running_box(s3_server, data_dir: Path) -> Iterator[Box]:  # type: ignore[no-untyped-def]
    """A box: data.db, its own SeaweedFS, and Litestream; all stopped on exit."""
    data_dir.mkdir(exist_ok=True)
    port = free_port()
    env = env_for(
        settings.ENV,
        f"http://127.0.0.1:{port}",
        data_dir=data_dir,
        offsite_endpoint=s3_server.endpoint,
        bucket_public="public",
        bucket_private="private",
        bucket_backup="backup",
    )
    db = sqlite3.connect(env.data_db, isolation_level=None)
    db.executescript(
        PRAGMAS + "CREATE TABLE posts(id INTEGER PRIMARY KEY, title TEXT, body TEXT);"
        "CREATE TABLE events(id INTEGER PRIMARY KEY, name TEXT, at REAL);"
    )
    try:
        with own_s3(data_dir / "s3", port=port), litestream(env) as url:
            yield Box(dataclasses.replace(env, litestream_url=url), db)
    finally:
        db.close()


@pytest.fixture
def box(s3_server, tmp_path: Path) -> Iterator[Box]:  # type: ignore[no-untyped-def]
    with running_box(s3_server, tmp_path / "data") as b:
        yield b


def wait_replicated(env: Env, timeout: float = 30) -> dict:  # type: ignore[type-arg]
    """Until the replica holds Litestream's position and that position stopped moving."""
    seen: tuple[int, float] | None = None

    def settled() -> dict | None:  # type: ignore[type-arg]
        nonlocal seen
        status = replication_status(env)
        if status["lag_txids"] == 0 and status["local_txid"]:
            if seen and seen[0] == status["local_txid"] and time.monotonic() - seen[1] > 1.5:
                assert status["ok"], status
                return status
            if not seen or seen[0] != status["local_txid"]:
                seen = (status["local_txid"], time.monotonic())
        return None

    result: dict = wait_until(  # type: ignore[type-arg]
        settled, timeout=timeout, interval=0.2, message="replication to catch up"
    )
    return result


def rows(path: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_point_in_time_restore(box: Box, tmp_path: Path) -> None:
    box.write_posts([f"early {i}" for i in range(50)])
    wait_replicated(box.env)
    time.sleep(1.0)
    point = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(1.5)
    box.write_posts([f"late {i}" for i in range(30)])
    wait_replicated(box.env)

    at_t = restore.restore_db(env=box.env, timestamp=point, output=tmp_path / "at-t.db")
    assert at_t.integrity == "ok"
    titles = [r[0] for r in rows(tmp_path / "at-t.db", "SELECT title FROM posts ORDER BY id")]
    assert titles == [f"early {i}" for i in range(50)]

    latest = restore.restore_db(env=box.env, output=tmp_path / "latest.db")
    assert latest.tables["posts"] == 80
    # The live database is never overwritten without --force.
    with pytest.raises(restore.RestoreError, match="--force"):
        restore.restore_db(env=box.env)


def test_restore_drill_whole_box_from_offsite_tier(s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    objects: dict[tuple[str, str], bytes] = {}
    with running_box(s3_server, tmp_path / "data") as box:
        env = box.env
        # 1. Write posts and events, and objects in the buckets.
        box.write_posts([f"post {i}" for i in range(120)])
        for batch in range(5):
            box.write_events(200, f"batch{batch}")
        client = local_client(env)
        for i in range(40):
            bucket = ["public", "private"][i % 2]
            body = bytes([i % 251]) * (1000 + 37 * i)
            key = f"media/{i}.png"
            client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/png")
            objects[(bucket, key)] = body
        # The analytics history: a catalogued segment, uploaded to the backup bucket as the
        # upload job does (its file lives in data dir/history, which the drill loses).
        segment = _segment_bytes(env.data_dir / "seg.parquet")
        box.db.executescript(
            "CREATE TABLE analytics_segment (id INTEGER PRIMARY KEY, name TEXT, level INT, "
            "min_seq INT, max_seq INT, rows INT, bytes INT, min_ts TEXT, max_ts TEXT, "
            "created_at TEXT, uploaded BOOL);"
            "CREATE TABLE analytics_historystate (id INTEGER PRIMARY KEY, sealed_seq INT, "
            "span_s INT, updated_at TEXT);"
            "INSERT INTO analytics_segment VALUES (1, 'L3-seg.parquet', 3, 1, 99, 99, "
            f"{len(segment)}, "
            "'2026-01-01 00:00:00', '2026-01-02 00:00:00', '2026-01-02 00:00:00', 1);"
            "INSERT INTO analytics_historystate VALUES (1, 99, 0, NULL);"
        )
        (env.data_dir / "history").mkdir(exist_ok=True)
        (env.data_dir / "history" / "L3-seg.parquet").write_bytes(segment)
        client.put_object(Bucket="backup", Key="history/L3-seg.parquet", Body=segment)
        posts = rows(env.data_db, "SELECT id, title, body FROM posts ORDER BY id")
        events = rows(env.data_db, "SELECT id, name, at FROM events ORDER BY id")

        # 2. Replication caught up; the nightly jobs copy everything offsite.
        status = wait_replicated(env)
        assert status["replica_txid"] == status["local_txid"] > 0
        daily = offsite.backup_daily(env=env)
        assert daily.copied > 40  # the objects, plus Litestream's files in the backup bucket
        offsite.tier_promote(env=env, source="daily", dest="1-week")
    # 3. The stack is stopped (Litestream, S3). Lose data.db, its WAL/SHM and the object store.
    for name in ("data.db", "data.db-wal", "data.db-shm"):
        (env.data_dir / name).unlink(missing_ok=True)
    shutil.rmtree(env.data_dir / "s3")
    shutil.rmtree(env.data_dir / "history")
    shutil.rmtree(env.data_dir / ".data.db-litestream", ignore_errors=True)
    assert not env.data_db.exists()

    # 4. The runbook's command (docs/architecture/restore.md, scenario 3).
    argv = [sys.executable, "manage.py", "restore", "box", "--tier", "1-week", "--start-s3"]
    done = subprocess.run(
        argv, cwd=REPO_ROOT, env=child_env(env), capture_output=True, text=True, timeout=170
    )
    print(done.stdout)  # shown with -s: the "good output" quoted in the runbook
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checksums verified against the manifest" in done.stdout
    assert "integrity_check: ok" in done.stdout
    assert "history: downloaded 1 segments" in done.stdout
    assert (env.data_dir / "history" / "L3-seg.parquet").read_bytes() == segment
    # ... and its visit partials were derived again from it (they are never uploaded).
    assert (env.data_dir / "history" / "L3-seg.visits.parquet").exists()

    # 5. Every committed row and every object is back, and integrity is ok.
    assert rows(env.data_db, "PRAGMA integrity_check") == [("ok",)]
    assert rows(env.data_db, "SELECT id, title, body FROM posts ORDER BY id") == posts
    assert rows(env.data_db, "SELECT id, name, at FROM events ORDER BY id") == events
    with own_s3(env.data_dir / "s3", port=int(env.s3_endpoint.rsplit(":", 1)[1])):
        client = local_client(env)
        for (bucket, key), body in objects.items():
            got = client.get_object(Bucket=bucket, Key=key)
            assert got["Body"].read() == body, key
            assert got["ContentType"] == "image/png"

        # 6. The restored box replicates again: a new commit reaches the replica.
        with litestream(env) as url:
            db = sqlite3.connect(env.data_db, isolation_level=None)
            db.executescript(PRAGMAS + "INSERT INTO posts(title, body) VALUES ('after', 'x');")
            db.close()
            wait_replicated(dataclasses.replace(env, litestream_url=url))
        again = restore.restore_db(env=env, output=tmp_path / "after.db")
        assert again.tables["posts"] == len(posts) + 1
