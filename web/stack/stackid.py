"""A data dir's stack id, kept twice: in the data dir and as an object in its backup bucket.

Every dev stack uses the same S3 credentials, so answering on the right port proves nothing
about whose backups a server holds. `make up` gives a data dir an id on first start and
writes the same id into its backup bucket; a restore compares the two before it writes
anything (issue 15, reliability 3). The object travels with the backups: the daily offsite
copy takes it, and `restore objects|box` brings it back, so a new box (restore runbook,
scenario 3) whose data dir has no id yet takes the bucket's.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

ID_FILE = "stack-id"  # in the data dir
ID_KEY = "hearth/stack-id"  # in the backup bucket


class StackIdError(Exception):
    """The backup bucket belongs to another data dir; the message says what to check."""


def local_read(data_dir: Path) -> str | None:
    """The data dir's stack id, or None when it has none yet."""
    try:
        return (data_dir / ID_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def local_write(data_dir: Path, stack_id: str) -> None:
    """Write the id to the data dir (temp file, then rename)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{ID_FILE}.tmp"
    tmp.write_text(stack_id + "\n")
    tmp.replace(data_dir / ID_FILE)


def bucket_read(client: Any, bucket: str) -> str | None:
    """The stack id object of ``bucket``, or None when there is none.

    Raises botocore's ClientError for anything but a missing object (a missing bucket too).
    """
    try:
        body = client.get_object(Bucket=bucket, Key=ID_KEY)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NoSuchBucket"}:
            return None
        raise
    return body.decode().strip() or None


def stack_id_ensure(*, data_dir: Path, client: Any, bucket: str) -> str:
    """At stack start: give the data dir an id (the bucket's if it has one, else a new one)
    and make sure the backup bucket holds it too; return the data dir's id."""
    remote = bucket_read(client, bucket)
    local = local_read(data_dir)
    if local is None:
        local = remote or uuid.uuid4().hex
        local_write(data_dir, local)
    if remote is None:
        client.put_object(Bucket=bucket, Key=ID_KEY, Body=local.encode())
    return local


def stack_id_verify(*, data_dir: Path, client: Any, bucket: str, endpoint: str, adopt: bool) -> str:
    """Before a restore: check the backup bucket at ``endpoint`` belongs to ``data_dir``.

    Returns a line to print. Raises StackIdError when both have an id and they differ.
    A data dir without an id (a new box) accepts the bucket's, written to the data dir when
    ``adopt``. A bucket without one (an empty store, or backups older than stack ids) cannot be
    checked: the line says so.
    """
    remote = bucket_read(client, bucket)
    local = local_read(data_dir)
    if local and remote and local != remote:
        raise StackIdError(
            f"the S3 server at {endpoint} holds another Hearth's backups: its {bucket!r} "
            f"bucket has stack id {remote}, this data dir ({data_dir}) has {local}. Nothing "
            "was restored. Check HEARTH_DATA_DIR and HEARTH_S3_ENDPOINT (is another stack "
            "running on that port?)"
        )
    if local and remote:
        return f"stack id {local}: the backup bucket belongs to this data dir"
    if remote:
        if adopt:
            local_write(data_dir, remote)
        return f"stack id {remote}: taken from the backup bucket (this data dir had none)"
    return (
        f"stack id: none in the {bucket!r} bucket (an empty store, or backups made before "
        "stack ids): cannot check it belongs to this data dir"
    )
