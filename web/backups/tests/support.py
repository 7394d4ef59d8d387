"""Helpers for the backup tests: envs pointed at real SeaweedFS servers, own servers."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from web.core.s3 import local_client, offsite_client
from web.core.testing import stop_group, wait_until
from web.env import Env
from web.stack.buckets import ensure_buckets
from web.stack.servers import S3Server, binary, free_port

KEY, SECRET = "hearth-test", "hearth-test-secret-key"


def env_for(
    base: Env, endpoint: str, *, data_dir: Path, offsite_endpoint: str, **extra: Any
) -> Env:
    """An Env whose local store is ``endpoint`` and whose offsite is a fresh bucket."""
    return dataclasses.replace(
        base,
        data_dir=data_dir,
        s3_endpoint=endpoint,
        s3_public_url=endpoint,
        s3_access_key=KEY,
        s3_secret_key=SECRET,
        offsite_endpoint=offsite_endpoint,
        offsite_access_key=KEY,
        offsite_secret_key=SECRET,
        offsite_bucket=f"offsite-{uuid.uuid4().hex[:8]}",
        **extra,
    )


def unique_buckets(env: Env) -> Env:
    """Own bucket names on a shared server, so other tests' objects never mix in."""
    tag = uuid.uuid4().hex[:6]
    env = dataclasses.replace(
        env, bucket_public=f"pub-{tag}", bucket_private=f"priv-{tag}", bucket_backup=f"bak-{tag}"
    )
    ensure_buckets(local_client(env), [env.bucket_public, env.bucket_private, env.bucket_backup])
    return env


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tier_objects(env: Env, tier: str) -> dict[str, bytes]:
    client, bucket = offsite_client(env), env.offsite_bucket
    prefix = f"{tier}/objects/"
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            out[obj["Key"][len(prefix) :]] = body
    return out


def manifest_bytes(env: Env, tier: str) -> bytes:
    client = offsite_client(env)
    return client.get_object(Bucket=env.offsite_bucket, Key=f"{tier}/manifest.json")["Body"].read()


def child_env(env: Env) -> dict[str, str]:
    """HEARTH_* variables that make a subprocess (manage.py) use ``env``."""
    out = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    out.update(
        {
            "DJANGO_SETTINGS_MODULE": "web.settings",
            "HEARTH_DATA_DIR": str(env.data_dir),
            "HEARTH_S3_ENDPOINT": env.s3_endpoint,
            "HEARTH_S3_PUBLIC_URL": env.s3_endpoint,
            "HEARTH_S3_ACCESS_KEY": env.s3_access_key,
            "HEARTH_S3_SECRET_KEY": env.s3_secret_key,
            "HEARTH_BUCKET_PUBLIC": env.bucket_public,
            "HEARTH_BUCKET_PRIVATE": env.bucket_private,
            "HEARTH_BUCKET_BACKUP": env.bucket_backup,
            "HEARTH_OFFSITE_ENDPOINT": env.offsite_endpoint,
            "HEARTH_OFFSITE_ACCESS_KEY": env.offsite_access_key,
            "HEARTH_OFFSITE_SECRET_KEY": env.offsite_secret_key,
            "HEARTH_OFFSITE_BUCKET": env.offsite_bucket,
            "HEARTH_LITESTREAM_URL": env.litestream_url,
        }
    )
    return out


def stop(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    stop_group(proc, grace=grace)


@contextmanager
def own_s3(data_dir: Path, port: int | None = None) -> Iterator[S3Server]:
    """A SeaweedFS of this test's own (the box's local store), started like the stack does."""
    server = S3Server(
        data_dir=data_dir, access_key=KEY, secret_key=SECRET, port=port or free_port()
    )
    config = server.write_config(data_dir.parent / f"s3-{server.port}.json")
    log = (data_dir.parent / f"weed-{server.port}.log").open("wb")
    proc = subprocess.Popen(
        server.argv(config), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        client = local_client(_bare_env(server.endpoint), fast_fail=True)
        wait_until(
            lambda: ensure_buckets(client, ["public", "private", "backup"]) is None,
            timeout=120,
            interval=0.2,
            message="own weed",
            ignore=(BotoCoreError, ClientError),
        )
        yield server
    finally:
        stop(proc, grace=1.0)  # weed's graceful stop can hang; writes are fsynced per request
        log.close()


def _bare_env(endpoint: str) -> Env:
    from django.conf import settings

    return dataclasses.replace(
        settings.ENV, s3_endpoint=endpoint, s3_access_key=KEY, s3_secret_key=SECRET
    )


@contextmanager
def litestream(env: Env) -> Iterator[str]:
    """``litestream replicate -config deploy/litestream.yml`` for env; yields its URL."""
    from web.core.litestream import LITESTREAM_CONFIG, litestream_env

    port = free_port()
    child = litestream_env(env)
    child["HEARTH_LITESTREAM_ADDR"] = f"127.0.0.1:{port}"
    log = (env.data_dir / "litestream.log").open("ab")
    proc = subprocess.Popen(
        [binary("litestream"), "replicate", "-config", str(LITESTREAM_CONFIG)],
        env=child,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        wait_until(
            lambda: httpx.get(f"{url}/metrics", timeout=1).status_code == 200,
            timeout=30,
            interval=0.2,
            message="litestream",
            ignore=(httpx.HTTPError,),
        )
        yield url
    finally:
        stop(proc, grace=10)
        log.close()
