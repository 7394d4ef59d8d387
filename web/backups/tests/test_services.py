"""Small services and selectors: VACUUM INTO snapshots, replication status without Litestream."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from django.conf import settings

from web.backups.restore import db_snapshot, integrity_check
from web.core.litestream import replication_status
from web.stack.servers import free_port


def test_snapshot_uses_vacuum_into_and_leaves_the_live_file_alone(tmp_path: Path) -> None:
    live = tmp_path / "data.db"
    con = sqlite3.connect(live, isolation_level=None)
    con.executescript(
        "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
        "INSERT INTO t(v) SELECT 'row' FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3);"
    )
    before = live.stat().st_ino
    snap = db_snapshot(source=live, dest=tmp_path / "snap.db")
    assert integrity_check(snap) == "ok"
    assert sqlite3.connect(snap).execute("SELECT count(*) FROM t").fetchone() == (3,)
    assert live.stat().st_ino == before  # not rewritten in place
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    con.close()


def test_replication_status_says_what_is_wrong_and_never_raises() -> None:
    unset = replication_status(dataclasses.replace(settings.ENV, litestream_url=""))
    assert unset["configured"] is False and unset["ok"] is False
    assert "HEARTH_LITESTREAM_URL unset" in unset["detail"]

    dead = f"http://127.0.0.1:{free_port()}"
    down = replication_status(
        dataclasses.replace(settings.ENV, litestream_url=dead, s3_endpoint=dead), timeout=0.5
    )
    assert down["configured"] is True and down["ok"] is False
    assert "metrics:" in down["detail"] and "replica:" in down["detail"]
