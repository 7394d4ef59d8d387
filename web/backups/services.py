"""Writes of the backups context: job runs, offsite copy, tier promotion, restore.

Every function is keyword-only and takes the ``Env`` it works on, so that cron, the
management commands and tests drive the same code with different targets.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from django.utils import timezone
from tqdm import tqdm

from web.backups import manifest as mf
from web.backups.errors import BackupError, JobSkipped, RestoreError
from web.backups.models import JobRun
from web.backups.transfer import ChecksumMismatch, copy_object, offsite_entry
from web.core.s3 import local_client, offsite_client
from web.env import REPO_ROOT, Env

log = logging.getLogger("backups")

LITESTREAM_CONFIG = REPO_ROOT / "deploy" / "litestream.yml"
WORKERS = 8  # boto3's default connection pool is 10 per client
PROMOTIONS = {"weekly": ("daily", "1-week"), "biweekly": ("1-week", "2-week")}
# The outcome of a run that was still open in a restored database: the backup was taken while
# it ran, so how it ended is not known. Not a failure (status page, alerts); not a success
# either, so cron catches the job up.
RESTORE_INTERRUPTED = "interrupted by restore"
CRON_INTERRUPTED = "failed: interrupted (cron stopped)"


# --- job runs -------------------------------------------------------------------------


def jobrun_start(*, job: str, dry_run: bool = False, trigger: str = "cron") -> JobRun:
    return JobRun.objects.create(
        job=job, started_at=timezone.now(), dry_run=dry_run, trigger=trigger
    )


def jobrun_finish(
    *, run: JobRun, outcome: str, counts: dict[str, Any] | None = None, error: str = ""
) -> JobRun:
    run.finished_at = timezone.now()
    run.outcome = outcome[:300]
    run.counts = counts or {}
    run.error = error
    run.save(update_fields=["finished_at", "outcome", "counts", "error"])
    return run


# --- offsite copy -----------------------------------------------------------------------


@dataclass
class CopySummary:
    """What a backup, promotion or object restore did (or would do, in a dry run)."""

    tier: str
    objects: int = 0
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    removed: int = 0
    vanished: int = 0
    mismatched: list[str] = field(default_factory=list)
    dry_run: bool = False
    taken_at: str = ""

    def counts(self) -> dict[str, Any]:
        d = asdict(self)
        d["mismatched"] = len(self.mismatched)
        return d

    def lines(self) -> list[str]:
        verb = "would copy" if self.dry_run else "copied"
        return [
            f"tier {self.tier} ({self.taken_at or 'no manifest'}): {self.objects} objects",
            f"  {verb:<10} {self.copied:>7} objects {_human(self.copied_bytes):>10}",
            f"  {'unchanged':<10} {self.skipped:>7} objects {_human(self.skipped_bytes):>10}",
            f"  {'removed':<10} {self.removed:>7} objects",
            f"  {'vanished':<10} {self.vanished:>7} objects (deleted while copying)",
            f"  {'mismatched':<10} {len(self.mismatched):>7} objects",
        ]


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _require_offsite(env: Env) -> None:
    if not env.offsite_endpoint:
        raise JobSkipped("HEARTH_OFFSITE_ENDPOINT unset")


@contextlib.contextmanager
def _backup_lock(env: Env) -> Iterator[None]:
    """One backup or promotion at a time per data dir, so a tier never moves under another."""
    env.data_dir.mkdir(parents=True, exist_ok=True)
    with open(env.data_dir / "backups.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _ensure_bucket(client: Any, bucket: str) -> None:
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        client.create_bucket(Bucket=bucket)


def _delete_keys(client: Any, bucket: str, keys: list[str]) -> None:
    for i in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[i : i + 1000]]
        resp = client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        if resp.get("Errors"):
            raise BackupError(f"offsite refused to delete {len(resp['Errors'])} objects")


def _local_buckets(env: Env) -> list[str]:
    return [env.bucket_public, env.bucket_private, env.bucket_backup]


def backup_daily(
    *, env: Env, dry_run: bool = False, progress: bool = False, workers: int = WORKERS
) -> CopySummary:
    """Bring ``daily/`` up to date with the local buckets; the manifest is written last.

    Copies only objects that are new or whose size or ETag changed; an object whose offsite
    copy already matches (for example copied by an interrupted run) is not copied again.
    Objects gone from the local buckets are removed from ``daily/`` after the manifest; they
    remain in ``1-week/`` and ``2-week/`` until those tiers are next promoted.
    Raises JobSkipped when offsite is not configured.
    """
    _require_offsite(env)
    local, off, bucket = local_client(env), offsite_client(env), env.offsite_bucket
    tier, prefix = "daily", mf.objects_prefix("daily")
    with _backup_lock(env):
        if not dry_run:
            _ensure_bucket(off, bucket)
        taken_at = mf.now_iso()
        current: dict[str, tuple[int, str]] = {}
        for b in _local_buckets(env):
            for key, meta in mf.list_objects(local, b).items():
                if key != ".hearth-probe":
                    current[f"{b}/{key}"] = meta
        try:
            prev = mf.read(off, bucket, tier)
            offsite = mf.list_objects(off, bucket, prefix)
        except ClientError as exc:
            if dry_run and exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                prev, offsite = None, {}
            else:
                raise
        summary = CopySummary(tier=tier, dry_run=dry_run)
        entries: dict[str, mf.Entry] = {}
        to_copy: list[str] = []
        for rel, (size, etag) in sorted(current.items()):
            kept = _unchanged(off, bucket, prefix + rel, (size, etag), offsite.get(rel), prev, rel)
            if kept is not None:
                entries[rel] = kept
                summary.skipped += 1
                summary.skipped_bytes += size
            else:
                to_copy.append(rel)
        if dry_run:
            summary.copied = len(to_copy)
            summary.copied_bytes = sum(current[r][0] for r in to_copy)
            summary.removed = len(set(offsite) - set(current))
            summary.objects = len(current)
            return summary
        off.put_object(Bucket=bucket, Key=mf.running_key(tier), Body=taken_at.encode())

        def one(rel: str) -> tuple[str, mf.Entry | None]:
            b, key = rel.split("/", 1)
            try:
                return rel, copy_object(local, b, key, off, bucket, prefix + rel)
            except ClientError as exc:
                if mf.is_missing(exc):
                    return rel, None  # deleted since the listing: not part of this point
                raise BackupError(f"copy of {rel} to offsite failed: {exc}") from exc

        with (
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
            tqdm(total=len(to_copy), unit="obj", desc="daily", disable=not progress) as bar,
        ):
            for fut in as_completed([pool.submit(one, rel) for rel in to_copy]):
                rel, entry = fut.result()
                bar.update(1)
                if entry is None:
                    summary.vanished += 1
                    continue
                entries[rel] = entry
                summary.copied += 1
                summary.copied_bytes += entry.size
        manifest = mf.Manifest(taken_at=taken_at, buckets=_local_buckets(env), objects=entries)
        summary.taken_at = taken_at
        off.put_object(Bucket=bucket, Key=mf.manifest_key(tier), Body=manifest.to_bytes())
        stale = sorted(set(offsite) - set(entries))
        _delete_keys(off, bucket, [prefix + rel for rel in stale])
        summary.removed = len(stale)
        summary.objects = len(entries)
        off.delete_object(Bucket=bucket, Key=mf.running_key(tier))
    log.info("backup daily: %s", summary.counts())
    return summary


def _unchanged(
    off: Any,
    bucket: str,
    off_key: str,
    local: tuple[int, str],
    remote: tuple[int, str] | None,
    prev: mf.Manifest | None,
    rel: str,
) -> mf.Entry | None:
    """The Entry to keep when the offsite copy already matches the local object, else None."""
    if remote is None or remote[0] != local[0]:
        return None
    size, etag = local
    # A plain (single-part) ETag is the MD5 of the bytes on both sides: it must agree.
    if "-" not in etag and "-" not in remote[1] and remote[1] != etag:
        return None
    known = prev.objects.get(rel) if prev else None
    if known is not None and known.size == size and known.etag == etag:
        return known
    # Copied by an interrupted run: its metadata says which source version it is.
    recorded = offsite_entry(off, bucket, off_key)
    if recorded is not None and recorded.etag == etag and recorded.size == size:
        return recorded
    return None


def tier_promote(
    *,
    env: Env,
    source: str,
    dest: str,
    dry_run: bool = False,
    progress: bool = False,
    workers: int = WORKERS,
) -> CopySummary:
    """Make ``dest`` the same point in time as ``source`` with server-side copies.

    The destination's manifest becomes byte-for-byte the source's, written after every
    object is in place. Refuses (BackupError) when the source is mid-update or incomplete.
    """
    _require_offsite(env)
    if source not in mf.TIERS or dest not in mf.TIERS:
        raise BackupError(f"unknown tier: tiers are {', '.join(mf.TIERS)}")
    off, bucket = offsite_client(env), env.offsite_bucket
    src_prefix, dst_prefix = mf.objects_prefix(source), mf.objects_prefix(dest)
    with _backup_lock(env):
        if mf.has_running_marker(off, bucket, source):
            raise BackupError(
                f"{source}/ is mid-update (an interrupted run left {source}/RUNNING); "
                f"the next backup run repairs it, then promote again"
            )
        raw = mf.read_raw(off, bucket, source)
        if raw is None:
            raise BackupError(f"{source}/ has no manifest yet: nothing to promote")
        manifest = mf.Manifest.from_bytes(raw)
        src = mf.list_objects(off, bucket, src_prefix)
        dst = mf.list_objects(off, bucket, dst_prefix)
        missing = [r for r, e in manifest.objects.items() if src.get(r, (-1, ""))[0] != e.size]
        if missing:
            raise BackupError(
                f"{source}/ lacks {len(missing)} objects of its manifest (first: {missing[0]}); "
                "run the backup for that tier again before promoting"
            )
        summary = CopySummary(tier=dest, dry_run=dry_run, objects=len(manifest.objects))
        to_copy = []
        for rel, entry in manifest.objects.items():
            if dst.get(rel) == src[rel]:
                summary.skipped += 1
                summary.skipped_bytes += entry.size
            else:
                to_copy.append(rel)
        stale = sorted(set(dst) - set(manifest.objects))
        if dry_run:
            summary.copied = len(to_copy)
            summary.copied_bytes = sum(manifest.objects[r].size for r in to_copy)
            summary.removed = len(stale)
            return summary
        off.put_object(Bucket=bucket, Key=mf.running_key(dest), Body=mf.now_iso().encode())

        def one(rel: str) -> None:
            source_ref = {"Bucket": bucket, "Key": src_prefix + rel}
            if manifest.objects[rel].size > 5 * 1024**3:
                off.copy(source_ref, bucket, dst_prefix + rel)  # multipart, still server-side
            else:
                off.copy_object(CopySource=source_ref, Bucket=bucket, Key=dst_prefix + rel)

        with (
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
            tqdm(total=len(to_copy), unit="obj", desc=dest, disable=not progress) as bar,
        ):
            for fut in as_completed([pool.submit(one, rel) for rel in to_copy]):
                fut.result()
                bar.update(1)
        summary.copied = len(to_copy)
        summary.copied_bytes = sum(manifest.objects[r].size for r in to_copy)
        off.put_object(Bucket=bucket, Key=mf.manifest_key(dest), Body=raw)
        _delete_keys(off, bucket, [dst_prefix + r for r in stale])
        summary.removed = len(stale)
        off.delete_object(Bucket=bucket, Key=mf.running_key(dest))
    log.info("promote %s -> %s: %s", source, dest, summary.counts())
    return summary


# --- restore ----------------------------------------------------------------------------


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
            _ensure_bucket(local, b)
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


def litestream_env(env: Env) -> dict[str, str]:
    """Environment for a litestream subprocess using deploy/litestream.yml against ``env``.

    AWS_CA_BUNDLE is removed: litestream refuses plain-http endpoints when it is set.
    """
    child = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    child.update(
        {
            "HEARTH_DATA_DIR": str(env.data_dir),
            "HEARTH_BUCKET_BACKUP": env.bucket_backup,
            "HEARTH_S3_ENDPOINT": env.s3_endpoint,
            "HEARTH_S3_REGION": env.s3_region,
            "HEARTH_S3_ACCESS_KEY": env.s3_access_key,
            "HEARTH_S3_SECRET_KEY": env.s3_secret_key,
            "HEARTH_LITESTREAM_ADDR": child.get("HEARTH_LITESTREAM_ADDR", ""),
        }
    )
    return child


def litestream_binary() -> str:
    from web.stack.servers import binary

    return binary("litestream")


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
            f"restored {self.path}: {_human(self.bytes)} in {self.seconds:.1f}s "
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


def jobrun_mark_interrupted() -> int:
    """Close runs left ``running`` by a stopped cron, so the history tells the truth.
    (A run open in a restored database was closed by the restore already, as
    ``RESTORE_INTERRUPTED``: it is not this box's cron that stopped it.)"""
    return JobRun.objects.filter(outcome=JobRun.RUNNING, finished_at__isnull=True).update(
        outcome=CRON_INTERRUPTED, finished_at=timezone.now()
    )


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
            # Django's SQLite format for an aware datetime: naive UTC text.
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
