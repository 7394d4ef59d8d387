"""Where segment files live and how they are written: temp file, fsync, rename, fsync the
directory (a crash leaves either no file or a whole one; see PATTERNS in analytics.md)."""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

TMP_PREFIX = ".tmp-"


class HistoryBusy(RuntimeError):
    """Another process holds the history lock (a seal, merge or rewrite is running)."""


def root() -> Path:
    path = Path(settings.HISTORY_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def segment_name(level: int, min_seq: int, max_seq: int) -> str:
    """Names sort by sequence; a rewrite of the same range gets a new random tail."""
    return f"L{level}-{min_seq:013d}-{max_seq:013d}-{uuid.uuid4().hex[:8]}.parquet"


def temp_path(suffix: str = ".parquet") -> Path:
    return root() / f"{TMP_PREFIX}{uuid.uuid4().hex}{suffix}"


def publish(tmp: Path, name: str) -> Path:
    """Make a fully written temp file durable under its final name."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    final = root() / name
    os.replace(tmp, final)
    fd = os.open(root(), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return final


@contextmanager
def exclusive(*, wait_s: float = 0.0) -> Iterator[None]:
    """One writer of the history at a time (cron's seal, a manual command, a test)."""
    fh = open(root() / ".lock", "a+")  # noqa: SIM115 - held for the block
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise HistoryBusy("another process is writing the history") from exc
                time.sleep(0.05)
        yield
    finally:
        fh.close()


def orphans(known: set[str], *, older_than_s: float, now: float | None = None) -> list[Path]:
    """Files in the history directory that no catalog row names (merged away, or written by
    a seal that crashed before its commit), older than ``older_than_s``: readers that listed
    the catalog just before a merge may still be opening the old files."""
    now = time.time() if now is None else now
    out = []
    for p in root().iterdir():
        if p.name == ".lock" or p.name in known:
            continue
        age = now - p.stat().st_mtime
        limit = max(older_than_s, 3600.0) if p.name.startswith(TMP_PREFIX) else older_than_s
        if age >= limit:
            out.append(p)
    return out
