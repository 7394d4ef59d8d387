"""Component health, shared by /healthz and `manage.py status`.

Each check is bounded by a short timeout so that a dead component makes health answer 503
quickly instead of hanging the probe.

The worker has no port to probe, so it writes a heartbeat file in the data dir when its
consumers start and every HEARTBEAT_EVERY_S while it runs, busy or idle
(worker_heartbeat_write, called by worker/runtime.py); health reads its age.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from web.core.s3 import local_client
from web.env import Env

TIMEOUT_S = 2.0
# One HTTP client per process: building one per probe costs ~0.5 s of TLS setup here.
_http = httpx.Client(timeout=TIMEOUT_S)


_s3_clients: dict[tuple[str, str, str], Any] = {}

HEARTBEAT_EVERY_S = 5.0
WORKER_STALE_S = 30.0  # six missed beats: stopped, or its event loop is stuck
# A server process accepts a missing or older heartbeat for this long after it started: in
# deploy/compose.yml the worker starts only once web is healthy, so requiring the worker
# then would keep both down. `manage.py status` passes no grace.
WORKER_START_GRACE_S = 90.0
_PROCESS_STARTED = time.time()


def _s3(env: Env) -> Any:
    """boto3 clients are thread-safe and slow to build, so keep one per configuration."""
    key = (env.s3_endpoint, env.s3_access_key, env.s3_secret_key)
    if key not in _s3_clients:
        _s3_clients[key] = local_client(env, fast_fail=True)
    return _s3_clients[key]


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _check_db(env: Env) -> str:
    parts = []
    for path in (env.data_db, env.ttl_db):
        if not path.exists():
            raise RuntimeError(f"{path.name} is missing (run migrate)")
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=TIMEOUT_S)
        try:
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            applied = con.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
        finally:
            con.close()
        parts.append(f"{path.name}: {mode}, {applied} migrations")
    return "; ".join(parts)


def _check_nats(env: Env) -> str:
    r = _http.get(f"{env.nats_monitor_url}/healthz?js-enabled-only=true")
    if r.status_code != 200:
        raise RuntimeError(f"nats /healthz answered {r.status_code}: {r.text[:100]}")
    return "jetstream ok"


def _check_s3(env: Env) -> str:
    client = _s3(env)
    for bucket in (env.bucket_public, env.bucket_private, env.bucket_backup):
        client.head_bucket(Bucket=bucket)
    return "buckets public, private, backup reachable"


def _check_litestream(env: Env) -> str:
    if not env.litestream_url:
        return "not configured (HEARTH_LITESTREAM_URL unset)"
    from web.core.litestream import replication_status

    status = replication_status(env, timeout=TIMEOUT_S)
    if not status["ok"]:
        raise RuntimeError(status["detail"])
    return f"replicating, {status['detail']} (lag {status['lag_s']}s, txid {status['local_txid']})"


def heartbeat_path(data_dir: Path) -> Path:
    return data_dir / "run" / "worker-heartbeat.json"


def worker_heartbeat_write(data_dir: Path, *, stopped: bool = False) -> None:
    """Record that this worker process is running (temp file, then rename); raises OSError."""
    target = heartbeat_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"at": time.time(), "pid": os.getpid(), "stopped": stopped}))
    tmp.replace(target)


def worker_heartbeat_read(data_dir: Path) -> dict[str, Any] | None:
    """{"at": epoch, "pid": n, "stopped": bool, "age_s": s} or None if never written."""
    try:
        beat = json.loads(heartbeat_path(data_dir).read_text())
        return {**beat, "age_s": round(time.time() - float(beat["at"]), 1)}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_worker(env: Env, grace_s: float = WORKER_START_GRACE_S) -> str:
    beat = worker_heartbeat_read(env.data_dir)
    if beat and not beat.get("stopped") and beat["age_s"] <= WORKER_STALE_S:
        return f"heartbeat {beat['age_s']:.0f}s ago (pid {beat.get('pid')})"
    up = time.time() - _PROCESS_STARTED
    if up < grace_s and (beat is None or float(beat["at"]) < _PROCESS_STARTED):
        return f"starting: no heartbeat since this process started {up:.0f}s ago"
    if beat is None:
        raise RuntimeError("worker: no heartbeat (never started on this data dir)")
    if beat.get("stopped"):
        raise RuntimeError(f"worker stopped {beat['age_s']:.0f}s ago (pid {beat.get('pid')})")
    raise RuntimeError(
        f"worker: last heartbeat {beat['age_s']:.0f}s ago (pid {beat.get('pid')}); "
        f"stopped or stuck (limit {WORKER_STALE_S:.0f}s)"
    )


CHECKS: dict[str, Callable[[Env], str]] = {
    "db": _check_db,
    "nats": _check_nats,
    "s3": _check_s3,
    "litestream": _check_litestream,
    "worker": _check_worker,
}


def _run(name: str, check: Callable[[Env], str], env: Env) -> ComponentHealth:
    start = time.perf_counter()
    try:
        detail, ok = check(env), True
    except Exception as exc:  # a health probe reports every failure, whatever its type
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return ComponentHealth(name, ok, detail, round((time.perf_counter() - start) * 1000, 1))


def check_all(env: Env, *, worker_grace_s: float = WORKER_START_GRACE_S) -> list[ComponentHealth]:
    """Run every component check concurrently; never raises.

    worker_grace_s: how long after this process started a missing or older worker heartbeat
    still counts as starting (0 for a one-off command such as `manage.py status`)."""
    checks = dict(CHECKS)
    if checks.get("worker") is _check_worker:
        checks["worker"] = lambda e: _check_worker(e, worker_grace_s)
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = [pool.submit(_run, name, fn, env) for name, fn in checks.items()]
        return [f.result() for f in futures]
