"""Restore: objects from an offsite tier, data.db from the Litestream replica
(docs/architecture/restore.md is the runbook; ``manage.py restore`` drives these).
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import ClientError
from tqdm import tqdm

from web.backups import manifest as mf
from web.backups.errors import RestoreError
from web.backups.offsite import WORKERS, CopySummary, ensure_bucket, human_bytes
from web.backups.transfer import ChecksumMismatch, copy_object
from web.core.litestream import LITESTREAM_CONFIG, litestream_binary, litestream_env
from web.core.s3 import local_client, offsite_client
from web.env import Env
from web.jobs.models import JobRun

# The outcome of a run that was still open in a restored database: the backup was taken while
# it ran, so how it ended is not known. Not a failure (status page, alerts); not a success
# either, so cron catches the job up.
RESTORE_INTERRUPTED = "interrupted by restore"


def restore_objects(
    *,
    env: Env,
    tier: str,
    dry_run: bool = False,
    progress: bool = False,
    force: bool = False,
    workers: int = WORKERS,
) -> CopySummary:
    """Copy a tier back into the local buckets, verifying each object against the manifest.

    Objects already present locally with the manifest's size and ETag are left alone (so a
    re-run resumes). Local objects not in the manifest are kept. Raises RestoreError when
    any object's bytes do not match the manifest (the others are restored).
    """
    if not env.offsite_endpoint:
        raise RestoreError("HEARTH_OFFSITE_ENDPOINT unset: set the HEARTH_OFFSITE_* variables")
    if tier not in mf.TIERS:
        raise RestoreError(f"unknown tier {tier!r}: tiers are {', '.join(mf.TIERS)}")
    off, bucket, local = offsite_client(env), env.offsite_bucket, local_client(env)
    manifest = mf.read(off, bucket, tier)
    if manifest is None:
        raise RestoreError(f"offsite {bucket}/{tier}/ has no manifest: choose another tier")
    if mf.has_running_marker(off, bucket, tier) and not force:
        raise RestoreError(
            f"{tier}/ was being updated when its last run stopped; choose another tier "
            "or pass --force to restore it anyway (checksums are still verified)"
        )
    summary = CopySummary(
        tier=tier, dry_run=dry_run, objects=len(manifest.objects), taken_at=manifest.taken_at
    )
    present: dict[str, tuple[int, str]] = {}
    for b in manifest.buckets:
        if not dry_run:
            ensure_bucket(local, b)
        with contextlib.suppress(ClientError):
            present.update({f"{b}/{k}": v for k, v in mf.list_objects(local, b).items()})
    to_copy = []
    for rel, entry in sorted(manifest.objects.items()):
        if present.get(rel) == (entry.size, entry.etag):
            summary.skipped += 1
            summary.skipped_bytes += entry.size
        else:
            to_copy.append(rel)
    if dry_run:
        summary.copied = len(to_copy)
        summary.copied_bytes = sum(manifest.objects[r].size for r in to_copy)
        return summary
    prefix = mf.objects_prefix(tier)

    def one(rel: str) -> tuple[str, str | None]:
        b, key = rel.split("/", 1)
        try:
            copy_object(
                off, bucket, prefix + rel, local, b, key,
                expect=manifest.objects[rel], to_offsite=False,
            )  # fmt: skip
        except ChecksumMismatch as exc:
            return rel, str(exc)
        except ClientError as exc:
            return rel, f"{rel}: {exc}"
        return rel, None

    with (
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
        tqdm(total=len(to_copy), unit="obj", desc=f"restore {tier}", disable=not progress) as bar,
    ):
        for fut in as_completed([pool.submit(one, rel) for rel in to_copy]):
            rel, problem = fut.result()
            bar.update(1)
            if problem:
                summary.mismatched.append(problem)
            else:
                summary.copied += 1
                summary.copied_bytes += manifest.objects[rel].size
    if summary.mismatched:
        raise RestoreError(
            f"{len(summary.mismatched)} objects failed verification: "
            + "; ".join(summary.mismatched[:5])
        )
    return summary


def integrity_check(path: Path) -> str:
    """``PRAGMA integrity_check`` of a database file; returns "ok" or the first problems."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()
    return "; ".join(r[0] for r in rows[:5])


def _table_counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def _sidecars(db: Path) -> list[Path]:
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


@dataclass
class DbRestore:
    path: str
    timestamp: str | None
    bytes: int
    integrity: str
    seconds: float
    tables: dict[str, int]
    kept_previous: list[str]
    dry_run: bool = False
    plan: str = ""
    interrupted_runs: int = 0

    def lines(self) -> list[str]:
        if self.dry_run:
            return [f"dry run: would restore {self.path} (timestamp {self.timestamp or 'latest'})",
                    self.plan.strip()]  # fmt: skip
        rows = sum(self.tables.values())
        out = [
            f"restored {self.path}: {human_bytes(self.bytes)} in {self.seconds:.1f}s "
            f"(point in time: {self.timestamp or 'latest'})",
            f"integrity_check: {self.integrity}",
            f"{len(self.tables)} tables, {rows} rows",
        ]
        if self.interrupted_runs:
            out.append(
                f"{self.interrupted_runs} job run(s) still open in the backup: marked "
                f"{RESTORE_INTERRUPTED!r} (cron runs them again)"
            )
        out += [f"previous file kept as {p}" for p in self.kept_previous]
        return out


def restore_db(
    *,
    env: Env,
    timestamp: str | None = None,
    output: Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    count_rows: bool = True,
) -> DbRestore:
    """Restore data.db from the Litestream replica in the backup bucket (latest or at T).

    Restores into a temporary file next to the target, runs ``PRAGMA integrity_check``, and
    only then moves it into place. An existing database (or WAL) at the target is refused
    unless ``force``; with ``force`` it is kept beside as ``*.before-restore-<time>``.
    Job runs that were open when the replica was written are closed as
    ``RESTORE_INTERRUPTED`` in the restored file (``jobrun_mark_restored``).
    """
    target = (output or env.data_db).resolve()
    existing = [p for p in _sidecars(target) if p.exists()]
    if existing and not force and not dry_run:
        raise RestoreError(
            f"{target} exists: stop the stack, then pass --force to replace it "
            "(the current file is kept beside it as *.before-restore-<time>)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".restoring")
    for p in _sidecars(tmp):
        p.unlink(missing_ok=True)
    argv = [litestream_binary(), "restore", "-config", str(LITESTREAM_CONFIG), "-o", str(tmp)]
    if timestamp:
        argv += ["-timestamp", timestamp]
    if dry_run:
        argv.append("-dry-run")
    argv.append(str(env.data_db))
    start = time.monotonic()
    proc = subprocess.run(argv, env=litestream_env(env), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RestoreError(
            f"litestream restore failed (exit {proc.returncode}): "
            f"{(proc.stderr or proc.stdout).strip()[-800:]}"
        )
    if dry_run:
        return DbRestore(
            str(target), timestamp, 0, "", 0.0, {}, [], True, proc.stdout + proc.stderr
        )
    integrity = integrity_check(tmp)
    if integrity != "ok":
        raise RestoreError(f"restored database failed integrity_check: {integrity} ({tmp})")
    interrupted = jobrun_mark_restored(db=tmp)
    tables = _table_counts(tmp) if count_rows else {}
    kept: list[str] = []
    # A file-name stamp (basic ISO 8601, no separators): web.analytics.timefmt has none.
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for p in existing:
        aside = p.with_name(p.name.replace(target.name, f"{target.name}.before-restore-{stamp}"))
        p.rename(aside)
        kept.append(str(aside))
    # Litestream's local state describes the old file; let it start afresh.
    meta = target.with_name(f".{target.name}-litestream")
    if meta.exists():
        shutil.rmtree(meta)
    for p in _sidecars(tmp)[1:]:
        p.unlink(missing_ok=True)
    tmp.rename(target)
    return DbRestore(
        str(target),
        timestamp,
        target.stat().st_size,
        integrity,
        time.monotonic() - start,
        tables,
        kept,
        interrupted_runs=interrupted,
    )


def db_snapshot(*, source: Path, dest: Path) -> Path:
    """A compact, consistent copy of a live database via ``VACUUM INTO`` (never VACUUM).

    VACUUM in place rewrites every page and confuses Litestream's WAL tracking; VACUUM INTO
    writes a new file and leaves the live one alone. Writes to a temp name, then renames.
    """
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(str(source))
    try:
        con.execute("VACUUM INTO ?", (str(tmp),))
    finally:
        con.close()
    tmp.rename(dest)
    return dest


def jobrun_mark_restored(*, db: Path) -> int:
    """In a just-restored database file (not yet in use): close every run that was open when
    the backup was taken as ``RESTORE_INTERRUPTED``, finished now. Returns how many.

    Such a run was copied mid-way (the daily backup runs while Litestream replicates); the
    restored box never ran it, so cron's start must not call it a failure of its own."""
    con = sqlite3.connect(db)
    try:
        with con:
            has = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='backups_jobrun'"
            ).fetchone()
            if not has:
                return 0
            # Django's SQLite format for an aware datetime: naive UTC text. Not timefmt.ts_str:
            # from a float it truncates the microseconds where datetime rounds them.
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            cur = con.execute(
                "UPDATE backups_jobrun SET outcome=?, finished_at=?, error=? "
                "WHERE outcome=? AND finished_at IS NULL",
                [
                    RESTORE_INTERRUPTED,
                    now,
                    "still running when the backup was taken; closed by the restore",
                    JobRun.RUNNING,
                ],
            )
            changed = cur.rowcount
        # restore_db drops the file's -wal before moving it into place: none may be left.
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return changed
    finally:
        con.close()
