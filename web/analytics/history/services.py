"""Writes of the columnar history: seal, merge, upload, retention, site deletion, export.

Every change follows one order (ADR-15): write the new file under a temp name, fsync,
rename; then ONE data.db transaction changes the catalog (and the sealed watermark); only
then are replaced files forgotten (deleted by ``history_gc`` minutes later). A crash at any
point leaves the catalog naming whole files whose rows are each sealed exactly once: a
file without a catalog row is an orphan that gc removes, never a duplicate.
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, transaction

from web.analytics.history import engine, files, schema
from web.analytics.timefmt import sec_str

log = logging.getLogger(__name__)

DB = engine.DB
SEAL_BATCH = 250_000  # events per new segment at most
FANOUT = 8  # this many segments of one level merge into one of the next
FINAL_ROWS = 1_000_000  # a segment this large is never merged again
ROW_GROUP = 65_536
# Uncompressed: a filtered one-year read measured 53 ms uncompressed, 94 lz4_raw, 93 snappy,
# 204 zstd (1M events, medians of 6 interleaved runs) for 51, 27, 27 and 16 bytes an event.
# Reads are the product; bytes are cheap. Exports use zstd.
COMPRESSION = "uncompressed"
GC_GRACE_S = 300.0
UPLOAD_PREFIX = "history/"


class HistoryError(RuntimeError):
    """A seal, merge or rewrite failed; nothing was committed."""


@dataclass
class Result:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def _ts(v: Any) -> str | None:
    return None if v is None else str(v)[:26]


def _state(cur: Any) -> tuple[int, int]:
    cur.execute("SELECT sealed_seq, span_s FROM analytics_historystate WHERE id = 1")
    row = cur.fetchone()
    if row is None:
        cur.execute(
            "INSERT OR IGNORE INTO analytics_historystate (id, sealed_seq, span_s) VALUES (1, 0, 0)"
        )
        return 0, 0
    return int(row[0]), int(row[1])


def _stats(path: Path) -> tuple[int, Any, Any, int]:
    """rows, min ts, max ts, max |ts - started| in seconds of one written file."""
    row = (
        engine.connection()
        .execute(
            "SELECT count(*), min(ts), max(ts), "
            "coalesce(max(abs(epoch(ts) - epoch(started))), 0) FROM read_parquet(?)",
            [str(path)],
        )
        .fetchone()
    )
    assert row is not None
    return int(row[0]), row[1], row[2], int(row[3])


def _copy_to(select_sql: str, params: list[Any], tmp: Path) -> None:
    engine.connection().execute(
        f"COPY ({select_sql}) TO '{tmp}' (FORMAT parquet, COMPRESSION {COMPRESSION}, "
        f"ROW_GROUP_SIZE {ROW_GROUP})",
        params,
    )


def _write_visits(events: Path) -> None:
    """The segment's visit partials (schema.VISITS_FROM_EVENTS), written beside it."""
    tmp = files.temp_path()
    try:
        _copy_to(schema.VISITS_FROM_EVENTS, [str(events)], tmp)
        files.publish(tmp, schema.visits_name(events.name))
    except Exception:
        tmp.unlink(missing_ok=True)
        raise


def _insert_segment(cur: Any, name: str, level: int, lo: int, hi: int, path: Path) -> int:
    rows, min_ts, max_ts, span = _stats(path)
    cur.execute(
        "INSERT INTO analytics_segment (name, level, min_seq, max_seq, rows, bytes, min_ts, "
        "max_ts, created_at, uploaded) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0)",
        [name, level, lo, hi, rows, path.stat().st_size, _ts(min_ts), _ts(max_ts),
         sec_str()],
    )  # fmt: skip
    return span


# --- seal ---------------------------------------------------------------------------------


def history_seal(*, batch: int = SEAL_BATCH) -> dict[str, int]:
    """Copy the next hot events (id above the sealed watermark, up to ``batch``) into one new
    level-0 segment. Returns {"events": n, "segments": 0 or 1}. Raises files.HistoryBusy when
    another writer holds the lock."""
    with files.exclusive(wait_s=30):
        return _seal_locked(batch)


def _seal_locked(batch: int) -> dict[str, int]:
    conn = connections[DB]
    with conn.cursor() as cur:
        watermark, _ = _state(cur)
        cur.execute(schema.SELECT_HOT, [watermark, batch])
        rows = cur.fetchall()
    if not rows:
        return {"events": 0, "segments": 0}
    lo, hi = rows[0][2], rows[-1][2]
    csv_path = files.temp_path(".csv")
    tmp = files.temp_path()
    try:
        with open(csv_path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        _copy_to(
            f"SELECT {schema.from_csv_select()} FROM read_csv(?, header=false, "
            f"columns={schema.csv_columns()}, quote='\"', escape='\"', delim=',', "
            "strict_mode=false, null_padding=false) ORDER BY site_id, ts, seq",
            [str(csv_path)],
            tmp,
        )
        name = files.segment_name(0, lo, hi)
        final = files.publish(tmp, name)
        _write_visits(final)
        with transaction.atomic(using=DB), conn.cursor() as cur:
            span = _insert_segment(cur, name, 0, lo, hi, final)
            cur.execute(
                "UPDATE analytics_historystate SET sealed_seq = %s, span_s = max(span_s, %s), "
                "updated_at = %s WHERE id = 1 AND sealed_seq = %s",
                [hi, span, sec_str(), watermark],
            )
            if cur.rowcount != 1:
                raise HistoryError(f"sealed watermark moved under a seal of {lo}..{hi}")
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, HistoryError):
            raise
        raise HistoryError(f"sealing events {lo}..{hi}") from exc
    finally:
        csv_path.unlink(missing_ok=True)
    return {"events": len(rows), "segments": 1}


def history_seal_all(*, progress: bool = False) -> dict[str, int]:
    """Seal every hot event, then merge (what a first upgrade or the benchmark needs)."""
    total = Result()
    bar = None
    if progress:
        from tqdm import tqdm

        with connections[DB].cursor() as cur:
            watermark, _ = _state(cur)
            cur.execute("SELECT count(*) FROM analytics_event WHERE id > %s", [watermark])
            bar = tqdm(total=cur.fetchone()[0], unit="ev", desc="sealing")
    while True:
        got = history_seal()
        total.add("events", got["events"])
        total.add("segments", got["segments"])
        if bar is not None:
            bar.update(got["events"])
        if not got["events"]:
            break
        for k, v in history_compact().items():
            total.add(k, v)
    if bar is not None:
        bar.close()
    return total.counts


# --- merge --------------------------------------------------------------------------------


def _segments(cur: Any) -> list[tuple[int, str, int, int, int, int]]:
    cur.execute(
        "SELECT id, name, level, min_seq, max_seq, rows FROM analytics_segment ORDER BY min_seq"
    )
    return [tuple(r) for r in cur.fetchall()]  # type: ignore[misc]


def _plan_merge(segs: list[tuple[int, str, int, int, int, int]]) -> list[Any] | None:
    """The newest run of FANOUT or more mergeable segments of one level, or None. Levels
    never grow along the sequence (a merge replaces a tail run), so a level is one block."""
    run: list[Any] = []
    for seg in reversed(segs):
        if seg[5] >= FINAL_ROWS:
            break
        if run and seg[2] != run[-1][2]:
            if len(run) >= FANOUT:
                break
            run = []
        run.append(seg)
    if len(run) >= FANOUT:
        return list(reversed(run))
    return None


def history_compact() -> dict[str, int]:
    """Merge runs of FANOUT small segments of one level into one segment of the next level,
    until none is left; returns {"merged": segments merged away}."""
    out = Result()
    with files.exclusive(wait_s=30):
        while True:
            with connections[DB].cursor() as cur:
                run = _plan_merge(_segments(cur))
            if run is None:
                break
            _replace(run, level=run[0][2] + 1, where="")
            out.add("merged", len(run))
    return out.counts


def _replace(run: list[Any], *, level: int, where: str, params: list[Any] | None = None) -> int:
    """Write the rows of ``run`` (catalog rows) matching ``where`` to one new segment and
    swap it in for them in one transaction. Returns rows written."""
    root = files.root()
    paths = [str(root / seg[1]) for seg in run]
    lo, hi = run[0][3], run[-1][4]
    tmp = files.temp_path()
    conn = connections[DB]
    try:
        _copy_to(
            f"SELECT * FROM {engine.source(paths)} {('WHERE ' + where) if where else ''} "
            "ORDER BY site_id, ts, seq",
            params or [],
            tmp,
        )
        name = files.segment_name(level, lo, hi)
        final = files.publish(tmp, name)
        _write_visits(final)
        with transaction.atomic(using=DB), conn.cursor() as cur:
            ids = [seg[0] for seg in run]
            marks = ", ".join(["%s"] * len(ids))
            cur.execute(f"DELETE FROM analytics_segment WHERE id IN ({marks})", ids)
            if cur.rowcount != len(ids):
                raise HistoryError(f"segments {lo}..{hi} changed under a merge")
            _insert_segment(cur, name, level, lo, hi, final)
            cur.execute("SELECT rows FROM analytics_segment WHERE name = %s", [name])
            return int(cur.fetchone()[0])
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, HistoryError):
            raise
        raise HistoryError(f"rewriting segments {lo}..{hi}") from exc


def history_gc(*, grace_s: float = GC_GRACE_S) -> dict[str, int]:
    """Delete files no catalog row names (merged away, or left by a crashed seal)."""
    with connections[DB].cursor() as cur:
        cur.execute("SELECT name FROM analytics_segment")
        names = [r[0] for r in cur.fetchall()]
    known = {*names, *(schema.visits_name(n) for n in names)}
    gone = files.orphans(known, older_than_s=grace_s)
    for p in gone:
        p.unlink(missing_ok=True)
    return {"deleted_files": len(gone)}


def history_tick() -> dict[str, int]:
    """The cron job (every 15 s): seal what is new, merge, forget replaced files."""
    out = Result()
    for _ in range(20):  # a backlog is sealed in several segments, merged as it goes
        got = history_seal()
        out.add("events", got["events"])
        out.add("segments", got["segments"])
        if got["events"] < SEAL_BATCH:
            break
    for k, v in history_compact().items():
        out.add(k, v)
    for k, v in history_gc().items():
        out.add(k, v)
    out.add("visits_rebuilt", history_ensure_visits())
    return out.counts


def history_ensure_visits() -> int:
    """Write the visit partials of every catalogued segment that has none (a restore, an
    upgrade from segments without them); returns how many were written."""
    with connections[DB].cursor() as cur:
        cur.execute("SELECT name FROM analytics_segment")
        names = [r[0] for r in cur.fetchall()]
    root = files.root()
    missing = [n for n in names if not (root / schema.visits_name(n)).exists()]
    with files.exclusive(wait_s=30):
        for name in missing:
            if (root / name).exists():
                _write_visits(root / name)
    return len(missing)


# --- retention and deletion ---------------------------------------------------------------


def history_retention(*, days: int | None = None, now: float | None = None) -> dict[str, int]:
    """Drop events older than ``days`` (default HEARTH_ANALYTICS_HISTORY_DAYS; 0 keeps all)."""
    days = settings.ENV.analytics_history_days if days is None else days
    if days <= 0:
        return {"history_rows_deleted": 0}
    cutoff = datetime.fromtimestamp((time.time() if now is None else now) - days * 86400, UTC)
    return _rewrite("ts >= ?", [cutoff.replace(tzinfo=None)], before=cutoff)


def history_delete_site(*, site_id: int) -> dict[str, int]:
    """Remove every event of one site from the history (site deletion)."""
    return _rewrite("site_id != ?", [site_id], site_id=site_id)


def _rewrite(
    keep: str, params: list[Any], *, before: datetime | None = None, site_id: int | None = None
) -> dict[str, int]:
    deleted = 0
    with files.exclusive(wait_s=60):
        with connections[DB].cursor() as cur:
            cur.execute(
                "SELECT id, name, level, min_seq, max_seq, rows, min_ts FROM analytics_segment "
                "ORDER BY min_seq"
            )
            segs = cur.fetchall()
        for seg in segs:
            if before is not None and (
                seg[6] is None or engine._parse(seg[6]) >= before.replace(tzinfo=None)
            ):
                continue
            path = files.root() / seg[1]
            if site_id is not None:
                (hit,) = (
                    engine.connection()
                    .execute(
                        "SELECT count(*) FROM read_parquet(?) WHERE site_id = ?",
                        [str(path), site_id],
                    )
                    .fetchone()
                )
                if not hit:
                    continue
            kept = _replace([seg[:6]], level=seg[2], where=keep, params=params)
            deleted += seg[5] - kept
    return {"history_rows_deleted": deleted}


# --- object storage -----------------------------------------------------------------------


def history_upload(*, client: Any = None) -> dict[str, int]:
    """Copy segments not yet uploaded to the backup bucket (``history/<name>``) and delete
    the bucket's copies of merged-away segments. The daily offsite copy takes the bucket."""
    from web.core.s3 import local_client

    env = settings.ENV
    client = client or local_client(env)
    bucket = env.bucket_backup
    out = Result()
    with connections[DB].cursor() as cur:
        cur.execute("SELECT id, name FROM analytics_segment WHERE uploaded = 0 ORDER BY min_seq")
        pending = cur.fetchall()
    for seg_id, name in pending:
        path = files.root() / name
        if not path.exists():
            raise HistoryError(f"segment {name} is in the catalog but not on disk")
        client.upload_file(str(path), bucket, UPLOAD_PREFIX + name)
        with transaction.atomic(using=DB), connections[DB].cursor() as cur:
            cur.execute("UPDATE analytics_segment SET uploaded = 1 WHERE id = %s", [seg_id])
        out.add("uploaded")
    with connections[DB].cursor() as cur:
        cur.execute("SELECT name FROM analytics_segment")
        known = {r[0] for r in cur.fetchall()}
    stale = []
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=UPLOAD_PREFIX
    ):
        for obj in page.get("Contents", []):
            if obj["Key"][len(UPLOAD_PREFIX) :] not in known:
                stale.append({"Key": obj["Key"]})
    for i in range(0, len(stale), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": stale[i : i + 1000]})
    out.add("deleted", len(stale))
    return out.counts


def history_restore(*, client: Any = None) -> dict[str, int]:
    """After data.db was restored: download every catalogued segment missing on disk from
    the backup bucket. A segment that was never uploaded is dropped from the catalog and
    the watermark rewound to before it, so its events are sealed again from data.db's hot
    window (uploads run every few minutes, the hot window keeps days)."""
    from web.core.s3 import local_client

    env = settings.ENV
    client = client or local_client(env)
    out = Result()
    lost_from: int | None = None
    with connections[DB].cursor() as cur:
        cur.execute("SELECT name, min_seq, uploaded FROM analytics_segment ORDER BY min_seq")
        segs = cur.fetchall()
    for name, min_seq, uploaded in segs:
        path = files.root() / name
        if path.exists():
            continue
        if uploaded:
            tmp = files.temp_path()
            client.download_file(env.bucket_backup, UPLOAD_PREFIX + name, str(tmp))
            _write_visits(files.publish(tmp, name))
            out.add("downloaded")
        else:
            lost_from = min_seq if lost_from is None else min(lost_from, min_seq)
    if lost_from is not None:
        with transaction.atomic(using=DB), connections[DB].cursor() as cur:
            cur.execute("DELETE FROM analytics_segment WHERE min_seq >= %s", [lost_from])
            out.add("dropped", cur.rowcount)
            cur.execute(
                "UPDATE analytics_historystate SET sealed_seq = %s WHERE id = 1", [lost_from - 1]
            )
    return out.counts


# --- export -------------------------------------------------------------------------------


def history_export(
    *, path: Path, start: datetime, end: datetime, site_id: int | None = None, fmt: str = "parquet"
) -> int:
    """Write the events of [start, end) (one site or all) to ``path`` as Parquet or CSV;
    returns rows written. Props are written as JSON text in CSV."""
    if fmt not in ("parquet", "csv"):
        raise ValueError("format must be parquet or csv")
    snap = engine.snapshot()
    src = engine.source(snap.files(engine._naive(start), engine._naive(end)))
    where, params = "ts >= ? AND ts < ?", [engine._naive(start), engine._naive(end)]
    if site_id is not None:
        where += " AND site_id = ?"
        params.append(site_id)
    cols = "*" if fmt == "parquet" else "* REPLACE (to_json(props)::VARCHAR AS props)"
    tmp = path.with_name(path.name + ".tmp")
    opts = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    con = engine.connection()
    con.execute(
        f"COPY (SELECT {cols} FROM {src} WHERE {where} ORDER BY site_id, ts, seq) TO '{tmp}' "
        f"({opts})",
        params,
    )
    (rows,) = con.execute(f"SELECT count(*) FROM {src} WHERE {where}", params).fetchone()  # type: ignore[misc]
    tmp.replace(path)
    return int(rows)
