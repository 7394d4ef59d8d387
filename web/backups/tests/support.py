"""Helpers for the backup tests: envs pointed at real SeaweedFS servers, what the offsite
holds. A SeaweedFS or Litestream of a test's own comes from web.core.testing.stores."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid

from web.core.s3 import local_client, offsite_client
from web.env import Env
from web.stack.buckets import ensure_buckets


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
