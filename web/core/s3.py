"""S3 clients for the local object store (public, private, backup) and the offsite target."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from web.env import Env


def _client(
    endpoint: str, access_key: str, secret_key: str, region: str, *, attempts: int = 3
) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(
            connect_timeout=2,
            read_timeout=15 if attempts > 1 else 2,
            retries={"max_attempts": attempts, "mode": "standard"},
            s3={"addressing_style": "path"},
        ),
    )


def local_client(env: Env, *, fast_fail: bool = False) -> Any:
    """boto3 S3 client for the box's own object store (SeaweedFS here, MinIO in compose)."""
    return _client(
        env.s3_endpoint,
        env.s3_access_key,
        env.s3_secret_key,
        env.s3_region,
        attempts=1 if fast_fail else 3,
    )


def offsite_client(env: Env) -> Any:
    """boto3 S3 client for the offsite backup target (HEARTH_OFFSITE_*)."""
    return _client(
        env.offsite_endpoint, env.offsite_access_key, env.offsite_secret_key, env.s3_region
    )


def public_url(env: Env, key: str) -> str:
    """Anonymous URL of an object in the public bucket."""
    return f"{env.s3_public_url}/{env.bucket_public}/{key}"
