"""DuckDB over the sealed segments: one in-memory connection per thread (DuckDB connections
are not thread-safe), and the catalog snapshot a query reads.

A query names its source as ``{ev}``; ``run`` replaces it with ``read_parquet([...])`` over
the segments whose time range can hold rows of the window asked for. A merge that removes a
listed file between the snapshot and the read is retried once with a fresh snapshot (removed
files are deleted only minutes later, so this is rare).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from django.db import connections

from web.analytics.history import files, schema

DB = "default"
THREADS = 2
MEMORY_LIMIT = "768MB"

_local = threading.local()
_all: list[duckdb.DuckDBPyConnection] = []


@atexit.register
def _close_all() -> None:
    """Close connections and unfreeze the collector before exit. The analytics pipeline
    gc.freeze()s what survives a batch, DuckDB's type objects included; frozen objects are
    never finalised, and nanobind (DuckDB's bindings) then reports them as leaks on stderr
    at exit of every process that ran a batch and imported duckdb (tests, benchmarks)."""
    for con in _all:
        with contextlib.suppress(Exception):
            con.close()
    gc.unfreeze()


def connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:")
        con.execute(f"SET threads={THREADS}")
        con.execute(f"SET memory_limit='{MEMORY_LIMIT}'")
        con.execute("SET TimeZone='UTC'")
        con.execute("SET parquet_metadata_cache=true")
        con.execute("SET preserve_insertion_order=false")
        # Spills go beside the history, not to ./.tmp in whatever directory we run in.
        spill = files.root().parent / "tmp" / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory='{spill}'")
        cols = ", ".join(
            f"{c} {'MAP(VARCHAR, VARCHAR)' if c == 'props' else t}" for c, t, _ in schema.COLUMNS
        )
        con.execute(f"CREATE TABLE empty_ev ({cols})")
        vcols = ", ".join(f"{c} {t}" for c, t in schema.VISIT_COLUMNS)
        con.execute(f"CREATE TABLE empty_vis ({vcols})")
        _local.con = con
        _all.append(con)
    return con


@dataclass(frozen=True)
class Seg:
    name: str
    min_ts: datetime | None
    max_ts: datetime | None


@dataclass(frozen=True)
class Snapshot:
    segments: tuple[Seg, ...]
    sealed_seq: int
    span: timedelta  # max |event ts - its session's start| in the history

    def files(self, start: datetime | None = None, end: datetime | None = None) -> list[str]:
        """Paths of the segments that may hold events in [start, end)."""
        root = files.root()
        out = []
        for s in self.segments:
            if s.min_ts is None or s.max_ts is None:
                continue
            if end is not None and s.min_ts >= end:
                continue
            if start is not None and s.max_ts < start:
                continue
            out.append(str(root / s.name))
        return out


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _parse(v: Any) -> datetime | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return _naive(v)
    return datetime.fromisoformat(str(v))


def snapshot() -> Snapshot:
    with connections[DB].cursor() as cur:
        cur.execute(
            "SELECT name, min_ts, max_ts FROM analytics_segment WHERE rows > 0 ORDER BY min_seq"
        )
        segs = tuple(Seg(n, _parse(a), _parse(b)) for n, a, b in cur.fetchall())
        cur.execute("SELECT sealed_seq, span_s FROM analytics_historystate WHERE id = 1")
        row = cur.fetchone() or (0, 0)
    return Snapshot(segs, int(row[0]), timedelta(seconds=int(row[1]) + 1))


def source(paths: list[str], *, empty: str = "empty_ev") -> str:
    if not paths:
        return empty
    quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    return f"read_parquet([{quoted}])"


def run(
    sql: str, params: list[Any], *, start: datetime | None, end: datetime | None
) -> list[tuple[Any, ...]]:
    """Run ``sql`` with ``{ev}`` bound to the segments covering [start, end) (naive UTC) and
    ``{vis}`` to their visit partials (schema.VISITS_FROM_EVENTS)."""
    start = _naive(start) if start else None
    end = _naive(end) if end else None
    for attempt in (0, 1):
        snap = snapshot()
        paths = snap.files(start, end)
        text = sql.replace("{ev}", source(paths))
        if "{vis}" in text:
            visits = [schema.visits_name(p) for p in paths]
            text = text.replace("{vis}", source(visits, empty="empty_vis"))
        try:
            return connection().execute(text, params).fetchall()
        except duckdb.IOException:
            if attempt:
                raise
            if "{vis}" in sql:
                # Visit partials are derived files: after a restore or an upgrade some may
                # not exist yet. Write them (under the history lock) rather than fail.
                from web.analytics.history.services import history_ensure_visits

                history_ensure_visits()
    raise AssertionError("unreachable")


def oldest_unsealed() -> datetime | None:
    """Time (aware UTC) of the oldest stored event not yet in the history, or None."""
    with connections[DB].cursor() as cur:
        cur.execute(
            "SELECT ts FROM analytics_event WHERE id > coalesce((SELECT sealed_seq FROM "
            "analytics_historystate WHERE id = 1), 0) ORDER BY id LIMIT 1"
        )
        row = cur.fetchone()
    if row is None:
        return None
    t = _parse(row[0])
    return t.replace(tzinfo=UTC) if t is not None else None


def status(*, now: float | None = None) -> dict[str, Any]:
    """What the status page shows of the history: segments, bytes, rows, the sealed
    watermark, how far sealing is behind and what is not uploaded yet."""
    import time

    now = time.time() if now is None else now
    with connections[DB].cursor() as cur:
        cur.execute(
            "SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(rows), 0), "
            "coalesce(sum(uploaded = 0), 0), max(max_ts) FROM analytics_segment"
        )
        segments, size, rows, pending, newest = cur.fetchone()
        cur.execute("SELECT sealed_seq FROM analytics_historystate WHERE id = 1")
        sealed = (cur.fetchone() or (0,))[0]
    oldest = oldest_unsealed()
    return {
        "segments": int(segments),
        "bytes": int(size),
        "rows": int(rows),
        "not_uploaded": int(pending),
        "sealed_seq": int(sealed),
        "newest_event": _parse(newest),
        "lag_s": round(now - oldest.timestamp(), 1) if oldest else 0.0,
    }
