"""Component health, shared by /healthz and `manage.py status`.

Each check is bounded by a short timeout so that a dead component makes health answer 503
quickly instead of hanging the probe.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from web.core.s3 import local_client
from web.env import Env

TIMEOUT_S = 2.0
# One HTTP client per process: building one per probe costs ~0.5 s of TLS setup here.
_http = httpx.Client(timeout=TIMEOUT_S)


_s3_clients: dict[tuple[str, str, str], Any] = {}


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
    from web.backups.selectors import replication_status

    status = replication_status(env, timeout=TIMEOUT_S)
    if not status["ok"]:
        raise RuntimeError(status["detail"])
    return f"replicating, {status['detail']} (lag {status['lag_s']}s, txid {status['local_txid']})"


CHECKS: dict[str, Callable[[Env], str]] = {
    "db": _check_db,
    "nats": _check_nats,
    "s3": _check_s3,
    "litestream": _check_litestream,
}


def _run(name: str, check: Callable[[Env], str], env: Env) -> ComponentHealth:
    start = time.perf_counter()
    try:
        detail, ok = check(env), True
    except Exception as exc:  # a health probe reports every failure, whatever its type
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return ComponentHealth(name, ok, detail, round((time.perf_counter() - start) * 1000, 1))


def check_all(env: Env) -> list[ComponentHealth]:
    """Run every component check concurrently; never raises."""
    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        futures = [pool.submit(_run, name, fn, env) for name, fn in CHECKS.items()]
        return [f.result() for f in futures]
