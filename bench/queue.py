"""Benchmark: jobs/s through the whole job path against raw JetStream on the same server.

Starts its own nats-server (web/stack/servers.py, sync_interval always) and a throwaway
data dir, then measures in one child process:

- ceiling_jobs_per_s: raw nats-py, publish_async + pull fetch(batch=100) + ack, concurrently,
  on a WorkQueue file stream: the most this server and client library can do;
- jobs_per_s: enqueue_many_async -> one `python -m worker` -> single handler -> ack
  (notify family, 16 in flight), from first publish to last ack;
- batch_jobs_per_s: the same through a batch handler (analytics family, batches of 500);
- enqueue_sync_per_s: enqueue() one at a time, each waiting for its PubAck;
- enqueue_async_per_s: enqueue_many_async in chunks of 1000, publishing only.

    python -m bench queue          # table + var/bench/queue.json
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from web.core.litestream import without_ca_bundle
from web.core.testing import run_json

REPO = Path(__file__).resolve().parent.parent
N_RAW = 10_000
N_JOBS = 5_000
N_SYNC = 1_000
PAYLOAD = {"site_id": 1, "path": "/posts/hello-world", "ref": "news.ycombinator.com"}


async def _acked(js: Any, stream: str, consumer: str, total: int, timeout: float) -> float:
    """Wait until the consumer acked `total` messages; return when (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = await js.consumer_info(stream, consumer)
        if info.ack_floor.stream_seq >= total and info.num_ack_pending == 0:
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{consumer}: not all {total} jobs acked within {timeout}s")


async def _ceiling(url: str) -> float:
    import nats
    from nats.js import api

    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(
        name="BENCH_RAW",
        subjects=["raw.>"],
        retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE,
    )
    await js.add_consumer(
        "BENCH_RAW", durable_name="raw", ack_policy=api.AckPolicy.EXPLICIT, max_ack_pending=20_000
    )
    psub = await js.pull_subscribe_bind(durable="raw", stream="BENCH_RAW")
    body = json.dumps(PAYLOAD).encode()
    done = 0

    async def consume() -> None:
        nonlocal done
        while done < N_RAW:
            try:
                msgs = await psub.fetch(100, timeout=1)
            except TimeoutError:
                continue
            for m in msgs:
                await m.ack()
            done += len(msgs)

    started = time.monotonic()
    consumer = asyncio.create_task(consume())
    futures = [
        await js.publish_async(f"raw.{i % 4}", body, headers={"Nats-Msg-Id": f"r{i}"})
        for i in range(N_RAW)
    ]
    await asyncio.gather(*futures)
    await consumer
    await nc.flush()
    elapsed = time.monotonic() - started
    await nc.close()
    return N_RAW / elapsed


async def _through_worker(url: str, job_type: str, consumer: str) -> float:
    import nats

    from web.messaging.jobs import enqueue_many_async

    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info("JOBS")
    base = info.state.last_seq
    started = time.monotonic()
    for lo in range(0, N_JOBS, 1000):
        await enqueue_many_async(
            [(job_type, {**PAYLOAD, "n": i}, None) for i in range(lo, min(lo + 1000, N_JOBS))]
        )
    end = await _acked(js, "JOBS", consumer, base + N_JOBS, timeout=300)
    await nc.close()
    return N_JOBS / (end - started)


async def _enqueue_async_only(url: str) -> float:
    import nats

    from web.messaging.jobs import enqueue_many_async

    started = time.monotonic()
    for lo in range(0, N_JOBS, 1000):
        await enqueue_many_async(
            [
                ("maintenance.bench", {**PAYLOAD, "n": i}, None)
                for i in range(lo, min(lo + 1000, N_JOBS))
            ]
        )
    rate = N_JOBS / (time.monotonic() - started)
    nc = await nats.connect(url)
    await nc.jetstream().purge_stream("JOBS", subject="jobs.maintenance.bench")
    await nc.close()
    return rate


def _child(url: str) -> dict[str, float]:
    """Runs inside the child with HEARTH_* pointing at the bench's server and data dir."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    django.setup()
    from web.messaging.jobs import enqueue
    from web.messaging.models import OutboxJob

    out: dict[str, float] = {"ceiling_jobs_per_s": asyncio.run(_ceiling(url))}
    worker = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        cwd=REPO,
        env={**os.environ, "HEARTH_WORKER_FAMILIES": "analytics,notify"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert worker.stdout is not None
        for line in worker.stdout:
            if "worker ready" in line:
                break
        else:
            raise RuntimeError("worker exited before it was ready")
        out["jobs_per_s"] = asyncio.run(_through_worker(url, "notify.bench", "jobs-notify"))
        out["batch_jobs_per_s"] = asyncio.run(
            _through_worker(url, "analytics.bench", "jobs-analytics")
        )
    finally:
        worker.terminate()
        worker.wait(30)
    started = time.monotonic()
    for i in range(N_SYNC):
        enqueue("maintenance.bench", {**PAYLOAD, "n": i})
    out["enqueue_sync_per_s"] = N_SYNC / (time.monotonic() - started)
    out["enqueue_async_per_s"] = asyncio.run(_enqueue_async_only(url))
    out["outbox_rows"] = float(OutboxJob.objects.count())  # 0 unless NATS failed us
    return out


def run() -> dict[str, float]:
    sys.path.insert(0, str(REPO))
    from web.stack.servers import NatsServer, wait_until

    root = Path(tempfile.mkdtemp(prefix="hearth-bench-queue-"))
    server = NatsServer(store_dir=root / "js")
    config = server.write_config(root / "nats.conf")
    nats_proc = subprocess.Popen(
        server.argv(config), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    env = {
        **without_ca_bundle(os.environ),
        "DJANGO_SETTINGS_MODULE": "web.settings",
        "HEARTH_MODE": "dev",
        "HEARTH_DATA_DIR": str(root / "data"),
        "HEARTH_NATS_URL": server.url,
        "HEARTH_NATS_MONITOR_URL": server.monitor_url,
        "HEARTH_WORKER_JOBS": "bench._queue_jobs",
        "HEARTH_LOG_LEVEL": "WARNING",
    }
    try:
        wait_until(server.ready, timeout=30, what="nats-server")
        for db in ("default", "ttl"):
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--database", db, "-v", "0"],
                cwd=REPO,
                env=env,
                check=True,
                capture_output=True,
            )
        result = run_json("-m", "bench.queue", "--child", server.url, env=env, timeout=900)
    finally:
        nats_proc.terminate()
        nats_proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    result["jobs_vs_ceiling"] = result["jobs_per_s"] / result["ceiling_jobs_per_s"]
    return {k: round(v, 3) for k, v in result.items()}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2])))
    else:
        from bench import format_table, write_result

        metrics = run()
        print(format_table("queue", metrics))
        print(f"written to {write_result('queue', metrics)}")
