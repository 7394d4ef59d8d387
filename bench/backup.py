"""Backup benchmarks: replication lag, 1 GB restore, incremental vs full offsite copy.

- ``replication_lag_p50_s`` / ``replication_lag_p99_s``: a writer commits one row every
  50 ms to a WAL data.db replicated by ``litestream replicate -config deploy/litestream.yml``
  (sync-interval 1 s) to a real SeaweedFS; a follower (``litestream restore -f``, polling
  every 100 ms) applies the replica; lag = time the row is readable in the follower minus
  its commit time. Target p99 <= 2 s.
- ``restore_1gb_s``: ``web.backups.restore.restore_db`` (litestream restore + PRAGMA
  integrity_check) of a 1 GB data.db (incompressible rows) from the replica. Target <= 60 s.
- ``incremental_10k_s`` / ``full_10k_s``: ``backup_daily`` of 10,000 objects (1-4 KiB) to an
  offsite bucket: first run (full copy) and a run after 1 % of them changed. Target <= 10 s.

Run: ``python -m bench.backup`` (or ``make bench BENCH=backup``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LAG_SECONDS = 20.0
LAG_EVERY_S = 0.05
BIG_BYTES = 1 << 30
ROW_BYTES = 4000
N_OBJECTS = 10_000


def _setup() -> None:
    os.environ.pop("AWS_CA_BUNDLE", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    import django

    django.setup()


def _env(data_dir: Path, port: int, **extra: Any) -> Any:
    from django.conf import settings

    from web.core.testing.stores import env_for

    data_dir.mkdir(parents=True, exist_ok=True)
    endpoint = f"http://127.0.0.1:{port}"
    return env_for(
        settings.ENV,
        endpoint,
        data_dir=data_dir,
        offsite_endpoint=endpoint,
        offsite_bucket="offsite-bench",
        **extra,
    )


def _litestream(env: Any) -> Any:
    """`litestream replicate` for env, started exactly as the backup tests start it."""
    from web.core.testing.stores import litestream

    return litestream(env)


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    from web.core.testing import stop_group

    stop_group(proc, grace=grace)


def _new_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
        "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, at REAL, body BLOB);"
    )
    return db


def _wait_caught_up(env: Any, timeout: float) -> None:
    from web.core.litestream import replication_status

    end = time.monotonic() + timeout
    seen: tuple[int, float] | None = None
    while time.monotonic() < end:
        st = replication_status(env, timeout=10)
        if st["lag_txids"] == 0 and st["local_txid"]:
            if seen and seen[0] == st["local_txid"] and time.monotonic() - seen[1] > 2:
                return
            if not seen or seen[0] != st["local_txid"]:
                seen = (st["local_txid"], time.monotonic())
        time.sleep(0.5)
    raise RuntimeError(f"replica did not catch up in {timeout}s: {st}")


def bench_lag(env: Any) -> dict[str, float]:
    from web.core.litestream import LITESTREAM_CONFIG, litestream_binary, litestream_env

    db = _new_db(env.data_db)
    lags: list[float] = []
    with _litestream(env) as url:
        env = dataclasses.replace(env, litestream_url=url)
        db.execute("INSERT INTO t(at, body) VALUES (?, ?)", (time.time(), b"seed"))
        _wait_caught_up(env, 60)
        follower = env.data_dir / "follower.db"
        fproc = subprocess.Popen(
            [litestream_binary(), "restore", "-config", str(LITESTREAM_CONFIG), "-f",
             "-follow-interval", "100ms", "-o", str(follower), str(env.data_db)],
            env=litestream_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        committed: dict[int, float] = {}
        stop = threading.Event()

        def writer() -> None:
            end = time.monotonic() + LAG_SECONDS
            while time.monotonic() < end:
                cur = db.execute("INSERT INTO t(at, body) VALUES (?, ?)", (time.time(), b"x" * 200))
                committed[cur.lastrowid] = time.time()
                time.sleep(LAG_EVERY_S)
            stop.set()

        try:
            while not follower.exists():
                time.sleep(0.05)
            time.sleep(0.5)
            thread = threading.Thread(target=writer)
            thread.start()
            seen_upto = 0
            deadline_after_stop = None
            while True:
                try:
                    con = sqlite3.connect(f"file:{follower}?mode=ro", uri=True, timeout=1)
                    top = con.execute("SELECT max(id) FROM t").fetchone()[0] or 0
                    con.close()
                except sqlite3.Error:
                    top = seen_upto
                now = time.time()
                for rid in range(seen_upto + 1, top + 1):
                    if rid in committed:
                        lags.append(now - committed[rid])
                seen_upto = max(seen_upto, top)
                if stop.is_set():
                    deadline_after_stop = deadline_after_stop or time.monotonic() + 15
                    if seen_upto >= max(committed) or time.monotonic() > deadline_after_stop:
                        break
                time.sleep(0.02)
            thread.join()
            missing = len([r for r in committed if r > seen_upto])
        finally:
            _stop(fproc, 5)
    db.close()
    lags.sort()
    return {
        "replication_lag_p50_s": round(statistics.median(lags), 3),
        "replication_lag_p99_s": round(lags[int(len(lags) * 0.99) - 1], 3),
        "replication_lag_rows": float(len(lags)),
        "replication_lag_missing_rows": float(missing),
    }


def bench_restore_1gb(env: Any) -> dict[str, float]:
    from web.backups.restore import restore_db

    db = _new_db(env.data_db)
    rows = BIG_BYTES // ROW_BYTES
    t0 = time.monotonic()
    for start in range(0, rows, 10_000):
        batch = [(time.time(), os.urandom(ROW_BYTES)) for _ in range(min(10_000, rows - start))]
        db.execute("BEGIN")
        db.executemany("INSERT INTO t(at, body) VALUES (?, ?)", batch)
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    build_s = time.monotonic() - t0
    size = env.data_db.stat().st_size
    t0 = time.monotonic()
    with _litestream(env) as url:
        _wait_caught_up(dataclasses.replace(env, litestream_url=url), 600)
    replicate_s = time.monotonic() - t0
    out = env.data_dir / "restored.db"
    result = restore_db(env=env, output=out, count_rows=False)
    if result.integrity != "ok":
        raise RuntimeError(f"restored 1 GB database failed integrity_check: {result.integrity}")
    return {
        "restore_1gb_s": round(result.seconds, 2),
        "restore_1gb_db_bytes": float(size),
        "restore_1gb_build_s": round(build_s, 1),
        "restore_1gb_initial_replication_s": round(replicate_s, 1),
    }


def bench_incremental(env: Any) -> dict[str, float]:
    from web.backups.offsite import backup_daily
    from web.core.s3 import local_client
    from web.stack.buckets import ensure_buckets

    client = local_client(env)
    buckets = [env.bucket_public, env.bucket_private, env.bucket_backup]
    ensure_buckets(client, buckets)
    keys = [(buckets[i % 3], f"bench/{i:05d}.bin") for i in range(N_OBJECTS)]

    def put(item: tuple[str, str], salt: bytes = b"") -> None:
        bucket, key = item
        size = 1024 + (hash(key) % 3072)
        client.put_object(Bucket=bucket, Key=key, Body=(salt + key.encode()) * (size // 16))

    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, keys))
    seed_s = time.monotonic() - t0
    t0 = time.monotonic()
    full = backup_daily(env=env)
    full_s = time.monotonic() - t0
    changed = keys[:: N_OBJECTS // 100][:100]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: put(item, b"v2"), changed))
    t0 = time.monotonic()
    incr = backup_daily(env=env)
    incr_s = time.monotonic() - t0
    t0 = time.monotonic()
    noop = backup_daily(env=env)
    noop_s = time.monotonic() - t0
    if full.copied != N_OBJECTS or incr.copied != len(changed) or noop.copied != 0:
        raise RuntimeError(f"unexpected copy counts: {full.copied}, {incr.copied}, {noop.copied}")
    return {
        "full_10k_s": round(full_s, 2),
        "incremental_10k_s": round(incr_s, 2),
        "noop_10k_s": round(noop_s, 2),
        "seed_10k_s": round(seed_s, 1),
    }


def run() -> dict[str, float]:
    _setup()
    from web.stack.localstore import running_s3
    from web.stack.servers import free_port

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hearth-bench-backup-") as tmp:
        root = Path(tmp)
        port = free_port()
        store = _env(root / "store", port)
        with running_s3(store):
            results |= bench_incremental(_env(root / "incr", port))
            results |= bench_lag(_env(root / "lag", port, bucket_backup="backup"))
            big = _env(root / "big", port, bucket_backup="backup-1gb")
            from web.core.s3 import local_client
            from web.stack.buckets import ensure_buckets

            ensure_buckets(local_client(big), [big.bucket_backup])
            results |= bench_restore_1gb(big)
    return results


TARGETS = {
    "replication_lag_p99_s": ("<=", 2.0),
    "restore_1gb_s": ("<=", 60.0),
    "incremental_10k_s": ("<=", 10.0),
}


def main() -> None:
    result = run()
    print(f"{'metric':<36} {'value':>14} target")
    for key, value in result.items():
        target = TARGETS.get(key)
        mark = ""
        if target:
            mark = f"{target[0]} {target[1]:g} " + ("ok" if value <= target[1] else "MISSED")
        print(f"{key:<36} {value:>14,.3f} {mark}")
    out = REPO / "var" / "bench" / "backup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
