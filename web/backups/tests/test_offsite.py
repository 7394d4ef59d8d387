"""Daily incremental backup and tier promotion against real SeaweedFS buckets.

The local buckets are this test's own buckets on the session's S3 server; offsite is a
fresh bucket on the same server (as if it were another provider).
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from web.backups import manifest as mf
from web.backups import offsite as services
from web.backups.errors import BackupError
from web.backups.tests.support import (
    child_env,
    manifest_bytes,
    sha,
    tier_objects,
    unique_buckets,
)
from web.core.s3 import local_client, offsite_client
from web.core.testing import wait_until
from web.core.testing.stores import env_for
from web.env import REPO_ROOT, Env


@pytest.fixture
def env(s3_server, tmp_path: Path) -> Env:  # type: ignore[no-untyped-def]
    base = env_for(
        settings.ENV, s3_server.endpoint, data_dir=tmp_path, offsite_endpoint=s3_server.endpoint
    )
    return unique_buckets(base)


def _put(env: Env, bucket: str, key: str, body: bytes, ctype: str = "image/png") -> None:
    local_client(env).put_object(Bucket=bucket, Key=key, Body=body, ContentType=ctype)


def _seed(env: Env, n: int) -> dict[str, bytes]:
    objects = {}
    for i in range(n):
        bucket = [env.bucket_public, env.bucket_private, env.bucket_backup][i % 3]
        body = f"object {i} ".encode() * (i + 1)
        _put(env, bucket, f"dir/{i:04d}.bin", body)
        objects[f"{bucket}/dir/{i:04d}.bin"] = body
    return objects


def test_incremental_copies_only_changes_and_handles_removals(env: Env) -> None:
    objects = _seed(env, 12)

    first = services.backup_daily(env=env)
    assert (first.copied, first.skipped, first.removed) == (12, 0, 0)
    assert tier_objects(env, "daily") == objects
    man = mf.Manifest.from_bytes(manifest_bytes(env, "daily"))
    assert {k: e.sha256 for k, e in man.objects.items()} == {k: sha(v) for k, v in objects.items()}

    second = services.backup_daily(env=env)
    assert (second.copied, second.skipped, second.removed) == (0, 12, 0)

    # Same size, different bytes: only the checksum can tell.
    changed = f"{env.bucket_public}/dir/0000.bin"
    objects[changed] = b"OBJECT 0 "
    _put(env, env.bucket_public, "dir/0000.bin", objects[changed])
    added = f"{env.bucket_private}/new.txt"
    objects[added] = b"new"
    _put(env, env.bucket_private, "new.txt", b"new", "text/plain")
    third = services.backup_daily(env=env)
    assert (third.copied, third.skipped) == (2, 11)
    daily = tier_objects(env, "daily")
    assert daily[changed] == b"OBJECT 0 " and daily[added] == b"new"
    head = offsite_client(env).head_object(Bucket=env.offsite_bucket, Key=f"daily/objects/{added}")
    assert head["ContentType"] == "text/plain"

    # Removal (documented): gone from daily/ at the next run, kept in 1-week/ until promoted.
    services.tier_promote(env=env, source="daily", dest="1-week")
    removed = f"{env.bucket_backup}/dir/0002.bin"
    local_client(env).delete_object(Bucket=env.bucket_backup, Key="dir/0002.bin")
    del objects[removed]
    fourth = services.backup_daily(env=env)
    assert (fourth.copied, fourth.removed) == (0, 1)
    assert tier_objects(env, "daily") == objects
    assert removed not in mf.Manifest.from_bytes(manifest_bytes(env, "daily")).objects
    assert removed in tier_objects(env, "1-week")

    dry = services.backup_daily(env=env, dry_run=True)
    assert (dry.copied, dry.removed) == (0, 0)


def test_dry_run_writes_nothing(env: Env) -> None:
    _seed(env, 3)
    dry = services.backup_daily(env=env, dry_run=True)
    assert (dry.copied, dry.objects) == (3, 3)
    client = offsite_client(env)
    names = {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert env.offsite_bucket not in names


def test_promotion_produces_identical_manifests_and_objects(env: Env) -> None:
    objects = _seed(env, 9)
    services.backup_daily(env=env)
    weekly = services.tier_promote(env=env, source="daily", dest="1-week")
    biweekly = services.tier_promote(env=env, source="1-week", dest="2-week")
    assert weekly.copied == 9 and biweekly.copied == 9
    daily_manifest = manifest_bytes(env, "daily")
    assert manifest_bytes(env, "1-week") == daily_manifest
    assert manifest_bytes(env, "2-week") == daily_manifest
    assert tier_objects(env, "1-week") == tier_objects(env, "2-week") == objects

    # A week later: daily moved on, 1-week follows it exactly, 2-week keeps its point in time.
    _put(env, env.bucket_public, "dir/0000.bin", b"changed!!")
    local_client(env).delete_object(Bucket=env.bucket_private, Key="dir/0001.bin")
    services.backup_daily(env=env)
    again = services.tier_promote(env=env, source="daily", dest="1-week")
    assert (again.copied, again.removed) == (1, 1)
    assert manifest_bytes(env, "1-week") == manifest_bytes(env, "daily") != daily_manifest
    assert tier_objects(env, "1-week") == tier_objects(env, "daily")
    assert manifest_bytes(env, "2-week") == daily_manifest
    assert tier_objects(env, "2-week") == objects


def test_promotion_refuses_a_tier_that_is_mid_update(env: Env) -> None:
    _seed(env, 2)
    services.backup_daily(env=env)
    offsite_client(env).put_object(Bucket=env.offsite_bucket, Key="daily/RUNNING", Body=b"x")
    with pytest.raises(BackupError, match="mid-update"):
        services.tier_promote(env=env, source="daily", dest="1-week")


def test_kill_9_mid_run_is_repaired_by_the_next_run(env: Env) -> None:
    objects = _seed(env, 240)
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "from web.backups.offsite import backup_daily; "
        "backup_daily(env=settings.ENV, workers=1)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=child_env(env),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    off = offsite_client(env)
    copied_before_kill = 0

    def copied() -> int:
        nonlocal copied_before_kill
        try:
            listed = off.list_objects_v2(Bucket=env.offsite_bucket, Prefix="daily/objects/")
            copied_before_kill = listed.get("KeyCount", 0)
        except off.exceptions.NoSuchBucket:
            copied_before_kill = 0
        return copied_before_kill

    try:
        with contextlib.suppress(AssertionError):  # the assert below says why it ended
            wait_until(lambda: proc.poll() is not None or copied() >= 20, timeout=60)
        assert proc.poll() is None, f"backup ended before the kill: {proc.stderr.read()!r}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    # Killed mid-run: the tier says so, and has no manifest yet.
    assert mf.has_running_marker(off, env.offsite_bucket, "daily")
    assert mf.read(off, env.offsite_bucket, "daily") is None

    repaired = services.backup_daily(env=env)
    assert repaired.copied + repaired.skipped == 240
    assert repaired.skipped >= copied_before_kill  # finished copies are not redone
    assert not mf.has_running_marker(off, env.offsite_bucket, "daily")
    man = mf.Manifest.from_bytes(manifest_bytes(env, "daily"))
    assert {k: e.sha256 for k, e in man.objects.items()} == {k: sha(v) for k, v in objects.items()}
    assert tier_objects(env, "daily") == objects
    assert json.loads(manifest_bytes(env, "daily"))["count"] == 240
