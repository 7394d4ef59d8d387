"""Reads of the backups context: replication health and job run history."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import httpx

from web.backups.models import JobRun
from web.core.s3 import local_client
from web.env import Env

REPLICA_PATH = "litestream/data.db"  # deploy/litestream.yml: replica path in the backup bucket
_METRIC = re.compile(r"^(litestream_[a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$")
_LTX = re.compile(r"([0-9a-f]{16})-([0-9a-f]{16})\.ltx$")
STALE_AFTER_S = 10.0


def _metrics(url: str, timeout: float) -> dict[str, float]:
    """Sum each litestream_* metric over its labels (one database per Litestream)."""
    out: dict[str, float] = {}
    text = httpx.get(f"{url}/metrics", timeout=timeout).raise_for_status().text
    for line in text.splitlines():
        m = _METRIC.match(line.strip())
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
    return out


def replica_position(env: Env, *, timeout: float = 2.0) -> tuple[int, datetime | None]:
    """(highest TXID, when written) of the replica in the backup bucket; (0, None) if empty."""
    client = local_client(env, fast_fail=timeout < 5)
    best, when = 0, None
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=env.bucket_backup, Prefix=f"{REPLICA_PATH}/"
    )
    for page in pages:
        for obj in page.get("Contents", []):
            m = _LTX.search(obj["Key"])
            if m and int(m.group(2), 16) >= best:
                best, when = int(m.group(2), 16), obj["LastModified"]
    return best, when


def replication_status(env: Env, *, timeout: float = 2.0) -> dict[str, Any]:
    """Litestream's replication state for the status page and ``status``; never raises.

    Keys: ``configured``, ``ok``, ``local_txid`` (Litestream's position in data.db),
    ``replica_txid`` (highest TXID in the replica bucket), ``lag_txids``, ``lag_s`` (0 when
    caught up, else seconds since the replica last advanced), ``replica_last_write`` (ISO),
    ``sync_errors`` and ``replica_errors`` (counters since Litestream started), ``detail``.
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
        last = status["replica_last_write"]
        since = time.time() - datetime.fromisoformat(last).timestamp() if last else None
        status["lag_s"] = 0.0 if lag == 0 else round(since or 0.0, 1)
        if lag and (since is None or since > STALE_AFTER_S):
            problems.append(f"replica is {lag} transactions behind")
    if status["sync_errors"]:
        problems.append(f"{status['sync_errors']} sync errors since start")
    status["ok"] = not problems and status["lag_txids"] is not None
    status["detail"] = "; ".join(problems) or (
        "caught up" if status["lag_txids"] == 0 else f"{status['lag_txids']} transactions pending"
    )
    return status


def jobruns_recent(*, job: str | None = None, limit: int = 20) -> list[JobRun]:
    qs = JobRun.objects.all()
    if job:
        qs = qs.filter(job=job)
    return list(qs.order_by("-started_at")[:limit])


def job_last_success(*, job: str) -> datetime | None:
    """The last-success marker cron uses for catch-up: end of the newest completed run."""
    run = JobRun.objects.completed().filter(job=job).order_by("-finished_at").first()
    return run.finished_at if run else None
