"""The offsite layout and the manifest that makes a tier a point in time.

Offsite bucket layout (see docs/architecture/backups.md):

    <tier>/objects/<bucket>/<key>   copy of every object of the local buckets
    <tier>/manifest.json            written last: what the tier holds, with checksums
    <tier>/RUNNING                  present only while a run updates the tier

A tier is trustworthy when it has a manifest and no RUNNING marker. ``etag`` is the local
object's ETag (the change detector); ``sha256`` is computed from the bytes while copying and
is what a restore verifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

TIERS = ("daily", "1-week", "2-week")
MANIFEST_VERSION = 1


def objects_prefix(tier: str) -> str:
    return f"{tier}/objects/"


def manifest_key(tier: str) -> str:
    return f"{tier}/manifest.json"


def running_key(tier: str) -> str:
    return f"{tier}/RUNNING"


@dataclass(frozen=True)
class Entry:
    size: int
    etag: str
    sha256: str


@dataclass
class Manifest:
    """What one tier holds: ``objects`` maps ``"<bucket>/<key>"`` to its Entry."""

    taken_at: str
    buckets: list[str]
    objects: dict[str, Entry] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.objects.values())

    def to_bytes(self) -> bytes:
        doc = {
            "version": MANIFEST_VERSION,
            "taken_at": self.taken_at,
            "buckets": self.buckets,
            "count": len(self.objects),
            "bytes": self.total_bytes,
            "objects": {
                k: {"size": e.size, "etag": e.etag, "sha256": e.sha256}
                for k, e in sorted(self.objects.items())
            },
        }
        return json.dumps(doc, indent=0, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        doc = json.loads(raw)
        if doc.get("version") != MANIFEST_VERSION:
            raise ValueError(f"unknown manifest version {doc.get('version')!r}")
        return cls(
            taken_at=doc["taken_at"],
            buckets=list(doc["buckets"]),
            objects={
                k: Entry(v["size"], v["etag"], v["sha256"]) for k, v in doc["objects"].items()
            },
        )


def now_iso() -> str:
    """Now as ISO 8601 UTC with always six fraction digits (timefmt.iso_z drops them at a
    whole second), so stamps in manifests keep one width."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}


def read_raw(client: Any, bucket: str, tier: str) -> bytes | None:
    """The tier's manifest bytes, or None when the tier has none yet."""
    try:
        return client.get_object(Bucket=bucket, Key=manifest_key(tier))["Body"].read()
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise


def read(client: Any, bucket: str, tier: str) -> Manifest | None:
    raw = read_raw(client, bucket, tier)
    return None if raw is None else Manifest.from_bytes(raw)


def has_running_marker(client: Any, bucket: str, tier: str) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=running_key(tier))
    except ClientError as exc:
        if is_missing(exc):
            return False
        raise
    return True


def list_objects(client: Any, bucket: str, prefix: str = "") -> dict[str, tuple[int, str]]:
    """key (without prefix) → (size, etag) for every object under prefix."""
    out: dict[str, tuple[int, str]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"][len(prefix) :]] = (int(obj["Size"]), obj["ETag"].strip('"'))
    return out
