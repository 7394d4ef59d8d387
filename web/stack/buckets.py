"""Create the three buckets and prove the S3 server accepts writes.

SeaweedFS (and MinIO) can answer HTTP well before the first write succeeds, so readiness is
a real write, not a port check.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

PROBE_KEY = ".hearth-probe"


def ensure_buckets(client: Any, buckets: list[str]) -> None:
    """Create missing buckets, then write and delete a probe object in each."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for bucket in buckets:
        if bucket not in existing:
            try:
                client.create_bucket(Bucket=bucket)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in {
                    "BucketAlreadyOwnedByYou",
                    "BucketAlreadyExists",
                }:
                    raise
        client.put_object(Bucket=bucket, Key=PROBE_KEY, Body=b"ok")
        client.delete_object(Bucket=bucket, Key=PROBE_KEY)


def public_read_policy(bucket: str) -> str:
    """S3 bucket policy: anyone may GET an object by key; nobody anonymous may list."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )
