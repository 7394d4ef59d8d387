"""Streaming object copy between two S3 endpoints, hashing the bytes on the way."""

from __future__ import annotations

import hashlib
import tempfile
from typing import Any

from boto3.s3.transfer import TransferConfig

from web.backups.errors import BackupsError
from web.backups.manifest import Entry

CHUNK = 1 << 20
SPOOL_MAX = 16 << 20
SINGLE_PUT_MAX = 8 << 20
SHA_META = "hearth-sha256"
ETAG_META = "hearth-source-etag"
_HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding")
_TRANSFER = TransferConfig(use_threads=False)


class ChecksumMismatch(BackupsError):
    """The bytes read do not match the manifest's size or sha256."""


def copy_object(
    src: Any,
    src_bucket: str,
    src_key: str,
    dst: Any,
    dst_bucket: str,
    dst_key: str,
    *,
    expect: Entry | None = None,
    to_offsite: bool = True,
) -> Entry:
    """Copy one object, return its Entry (source ETag, size, sha256 of the bytes).

    With ``expect`` the bytes are verified before anything is written; a mismatch raises
    ChecksumMismatch and writes nothing. Copies to offsite carry the sha256 and source ETag
    as metadata; copies back (restore) drop them. Content-Type and user metadata travel.
    """
    resp = src.get_object(Bucket=src_bucket, Key=src_key)
    meta = dict(resp.get("Metadata") or {})
    digest = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX) as spool:
        for chunk in resp["Body"].iter_chunks(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            spool.write(chunk)
        sha = digest.hexdigest()
        etag = resp["ETag"].strip('"')
        if expect is not None:
            if size != expect.size or sha != expect.sha256:
                raise ChecksumMismatch(
                    f"{src_key}: got {size} bytes sha256 {sha[:12]}, manifest says "
                    f"{expect.size} bytes sha256 {expect.sha256[:12]}"
                )
            etag = expect.etag
        if to_offsite:
            meta.update({SHA_META: sha, ETAG_META: etag})
        else:
            meta.pop(SHA_META, None)
            meta.pop(ETAG_META, None)
        extra: dict[str, Any] = {"Metadata": meta}
        extra.update({h: resp[h] for h in _HEADERS if resp.get(h)})
        spool.seek(0)
        if size <= SINGLE_PUT_MAX:
            dst.put_object(Bucket=dst_bucket, Key=dst_key, Body=spool.read(), **extra)
        else:
            dst.upload_fileobj(spool, dst_bucket, dst_key, ExtraArgs=extra, Config=_TRANSFER)
    return Entry(size=size, etag=etag, sha256=sha)


def offsite_entry(client: Any, bucket: str, key: str) -> Entry | None:
    """The Entry recorded in an offsite copy's metadata, or None when it has none."""
    head = client.head_object(Bucket=bucket, Key=key)
    meta = head.get("Metadata") or {}
    if SHA_META not in meta or ETAG_META not in meta:
        return None
    return Entry(int(head["ContentLength"]), meta[ETAG_META], meta[SHA_META])
