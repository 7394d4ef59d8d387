"""Offsite copies: the daily incremental copy and the tier promotions (backups.md).

Every function is keyword-only and takes the ``Env`` it works on, so that cron, the
management commands and tests drive the same code with different targets.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from tqdm import tqdm

from web.backups import manifest as mf
from web.backups.errors import BackupError
from web.backups.transfer import copy_object, offsite_entry
from web.core.s3 import local_client, offsite_client
from web.env import Env
from web.jobs.errors import JobSkipped

log = logging.getLogger("backups")

WORKERS = 8  # boto3's default connection pool is 10 per client
PROMOTIONS = {"weekly": ("daily", "1-week"), "biweekly": ("1-week", "2-week")}


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
            f"  {verb:<10} {self.copied:>7} objects {human_bytes(self.copied_bytes):>10}",
            f"  {'unchanged':<10} {self.skipped:>7} objects {human_bytes(self.skipped_bytes):>10}",
            f"  {'removed':<10} {self.removed:>7} objects",
            f"  {'vanished':<10} {self.vanished:>7} objects (deleted while copying)",
            f"  {'mismatched':<10} {len(self.mismatched):>7} objects",
        ]


def human_bytes(n: float) -> str:
    """1536 -> "1.5 KiB": sizes in summaries a person reads."""
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


def ensure_bucket(client: Any, bucket: str) -> None:
    """Create ``bucket`` unless it exists (any other S3 error is raised)."""
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
            ensure_bucket(off, bucket)
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
