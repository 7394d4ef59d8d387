"""S3 access for media: originals in the private bucket, variants in the public one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from web.core.s3 import local_client, public_url
from web.env import Env

# Variant keys carry a content hash, so browsers and proxies may keep them forever.
IMMUTABLE = "public, max-age=31536000, immutable"
PRESIGN_SECONDS = 300


def original_key(sha256: str, ext: str, token: str) -> str:
    """Key of a stored original. `token` is random per upload, so the purge of a deleted
    image can never remove the original of a later upload of the same bytes (see site.md)."""
    return f"originals/{sha256[:2]}/{sha256}-{token}.{ext}"


def variant_key(image_id: int, kind: str, digest: str, ext: str) -> str:
    return f"img/{image_id}/{kind}-{digest}.{ext}"


def put_original(env: Env, *, key: str, data: bytes, content_type: str) -> None:
    local_client(env).put_object(
        Bucket=env.bucket_private, Key=key, Body=data, ContentType=content_type
    )


def get_original(env: Env, key: str) -> bytes:
    obj = local_client(env).get_object(Bucket=env.bucket_private, Key=key)
    return obj["Body"].read()


def put_variant(client: Any, env: Env, *, key: str, data: bytes, content_type: str) -> None:
    client.put_object(
        Bucket=env.bucket_public,
        Key=key,
        Body=data,
        ContentType=content_type,
        CacheControl=IMMUTABLE,
    )


def count_variant_objects(env: Env, image_id: int, *, since: datetime) -> int:
    """How many objects the public bucket holds under an image's prefix, written at or after
    `since` (one LIST call). Objects older than the image belong to an earlier image with the
    same id (ids repeat after a database restore) and are not its progress."""
    got = local_client(env, fast_fail=True).list_objects_v2(
        Bucket=env.bucket_public, Prefix=f"img/{image_id}/", MaxKeys=100
    )
    # S3 times are whole seconds on some servers: allow for the truncation.
    cutoff = since - timedelta(seconds=1)
    return sum(1 for o in got.get("Contents", []) if o["LastModified"] >= cutoff)


def delete_keys(client: Any, bucket: str, keys: list[str]) -> None:
    """Delete objects one by one; a key that is already gone counts as deleted.

    Raises botocore errors for anything else (the caller maps them to a retry).
    """
    for key in keys:
        try:
            client.delete_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") not in {"NoSuchKey", "404"}:
                raise


def variant_url(env: Env, key: str) -> str:
    return public_url(env, key)


def presigned_original_url(env: Env, key: str, *, seconds: int = PRESIGN_SECONDS) -> str:
    """A short-lived GET URL for a private object, signed for the public S3 address.

    Signed against s3_public_url (what the browser will use), not the internal endpoint,
    because SigV4 covers the Host header.
    """
    client = boto3.client(
        "s3",
        endpoint_url=env.s3_public_url,
        aws_access_key_id=env.s3_access_key,
        aws_secret_access_key=env.s3_secret_key,
        region_name=env.s3_region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": env.bucket_private, "Key": key}, ExpiresIn=seconds
    )
