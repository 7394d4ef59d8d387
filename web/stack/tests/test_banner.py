"""`make up`'s banner (issue 17, item 13) and where the SQLite note is said (item 14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from web import sqlite
from web.env import REPO_ROOT
from web.stack.launch import KEPT_PASSWORD, StackPaths
from web.stack.up import banner

FACTS = {
    "url": "http://127.0.0.1:8123",
    "s3_endpoint": "http://127.0.0.1:9000",
    "nats_url": "nats://127.0.0.1:4333",
    "data_dir": "/tmp/x",
}


def test_banner_links_the_analytics_dashboard(tmp_path: Path) -> None:
    text = banner(FACTS, "admin", "s3cret", StackPaths(tmp_path), 5.0)
    assert "Stats:   http://127.0.0.1:8123/dashboard/   (the analytics dashboard)" in text
    assert "Site:    http://127.0.0.1:8123/" in text
    assert "password 's3cret'" in text
    kept = banner(FACTS, "owner", KEPT_PASSWORD, StackPaths(tmp_path), 5.0)
    assert "user 'owner', (unchanged" in kept


def test_old_sqlite_is_one_plain_note_under_the_banner(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sqlite.sqlite3, "sqlite_version", "3.40.1")
    text = banner(FACTS, "admin", "pw", StackPaths(tmp_path), 5.0)
    note = sqlite.version_note()
    assert note is not None and text.count(note) == 1
    assert "only Litestream checkpoints data.db" in note
    assert "3.51.3 or newer removes this note" in note
    monkeypatch.setattr(sqlite.sqlite3, "sqlite_version", "3.51.3")
    assert sqlite.version_note() is None
    assert "Note:" not in banner(FACTS, "admin", "pw", StackPaths(tmp_path), 5.0)


def _manage(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.stdout + proc.stderr


@pytest.mark.skipif(sqlite.version_note() is None, reason="this Python's SQLite has no risk")
def test_ordinary_commands_do_not_print_the_sqlite_warning() -> None:
    assert "WAL-reset" not in _manage("check")
    assert "hearth.W001" in _manage("check", "--deploy")
