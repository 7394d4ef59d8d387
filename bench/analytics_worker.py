"""Benchmark: events/s through one analytics worker's batch pipeline into rollups.

Runs the real pipeline (web.analytics.services.events_process_batch: enrichment steps,
sessions, raw-event executemany, rollup upserts, one transaction per batch of 500, as the
worker fetches them) against a fresh, migrated data.db in a temporary directory, in a child
process so that it never touches a running stack's data. NATS is not involved: this is the
worker's ceiling; the ingest benchmark measures the path through JetStream.

    python -m bench analytics_worker    # table + var/bench/analytics_worker.json
    from bench.analytics_worker import run  # {"worker_events_per_s": ..., ...}
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from web.core.litestream import without_ca_bundle
from web.core.testing import run_json

REPO = Path(__file__).resolve().parent.parent
EVENTS = 60_000
BATCH = 500  # the analytics family's fetch batch (web/messaging/config.py)
VISITORS = 4_000
TARGET = 20_000

UAS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
]
REFS = [
    "",
    "",
    "",
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "https://chatgpt.com/",
    "https://blog.example.org/post",
]
PAGES = [f"/blog/post-{i}" for i in range(60)] + ["/", "/about", "/archive"]


def make_events(n: int, start: float, seed: int = 7) -> list[dict]:
    """A realistic mix: 78% pageviews, 10% engagement, 10% custom events, 2% JS errors,
    from VISITORS visitors over one hour, in receive order."""
    rnd = random.Random(seed)
    visitors = [
        (".".join(str(rnd.randrange(1, 223)) for _ in range(4)), rnd.choice(UAS))
        for _ in range(VISITORS)
    ]
    out = []
    for i in range(n):
        ip, ua = visitors[rnd.randrange(VISITORS)]
        ts = start + 3600 * i / n
        page = rnd.choice(PAGES)
        q = (
            "?utm_source=newsletter&utm_medium=email&utm_campaign=nov"
            if rnd.random() < 0.05
            else ""
        )
        r = rnd.random()
        p = {
            "v": 1,
            "site": 1,
            "kind": "pageview",
            "name": "pageview",
            "url": f"https://hearth.test{page}{q}",
            "ref": rnd.choice(REFS),
            "ts": ts,
            "ip": ip,
            "ua": ua,
            "screen": rnd.choice([390, 1280, 1920]),
            "src": "hearth",
        }
        if r < 0.10:
            p.update(
                kind="engagement",
                name="engagement",
                engaged_ms=rnd.randrange(500, 90_000),
                scroll=rnd.randrange(100),
            )
        elif r < 0.20:
            p.update(
                kind="custom",
                name=rnd.choice(["signup", "download", "play"]),
                props={"plan": "free"},
            )
        elif r < 0.22:
            p.update(
                kind="error",
                name="error",
                error={
                    "message": f"Uncaught TypeError: x{rnd.randrange(5)} is undefined",
                    "stack": f"TypeError: x\n    at f{rnd.randrange(5)} (https://h.test/a.js:1:2)",
                },
            )
        out.append(p)
    return out


def _child() -> dict[str, float]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("migrate", database="ttl", verbosity=0)
    settings.ANALYTICS_LIVE = False
    from web.analytics.models import Event, Rollup, SessionsHourly
    from web.analytics.services import events_process_batch

    start = time.time() - 3600
    events = make_events(EVENTS, start)
    # Warm-up batch (caches, salts, prepared statements), not timed, not counted.
    events_process_batch(
        payloads=make_events(BATCH, start - 7200, seed=1), job_ids=[f"w{i}" for i in range(BATCH)]
    )
    wal = Path(settings.DATABASES["default"]["NAME"] + "-wal")
    wal0 = wal.stat().st_size  # data.db never checkpoints here (Litestream's job): it grows
    per_batch = []
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(0, EVENTS, BATCH):
        chunk = events[i : i + BATCH]
        b0 = time.perf_counter()
        events_process_batch(payloads=chunk, job_ids=[f"j{i + k}" for k in range(len(chunk))])
        per_batch.append(time.perf_counter() - b0)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    wal_bytes = wal.stat().st_size - wal0
    stored = Event.objects.exclude(event_id__startswith="w").count()
    per_batch.sort()
    pv = SessionsHourly.objects.exclude(hour__lt=_hour(start)).count()
    return {
        "worker_events_per_s": round(EVENTS / elapsed, 1),
        # CPU-time rate: what one core does when the box is not shared (it is, here).
        "worker_events_per_cpu_s": round(EVENTS / cpu, 1),
        "worker_events": EVENTS,
        "worker_stored": stored,
        # What each event costs Litestream to ship (the WAL it must read and upload).
        "wal_bytes_per_event": round(wal_bytes / EVENTS, 1),
        "worker_batch_p50_ms": round(per_batch[len(per_batch) // 2] * 1000, 2),
        "worker_batch_p99_ms": round(per_batch[int(len(per_batch) * 0.99) - 1] * 1000, 2),
        "worker_rollup_rows": Rollup.objects.count(),
        "worker_graph_hours": pv,
    }


def _hour(ts: float) -> object:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts - ts % 3600, UTC)


def run() -> dict[str, float]:
    """Run the benchmark in a child process on a throwaway data dir; return its metrics."""
    with tempfile.TemporaryDirectory(prefix="hearth-bench-worker-") as data:
        env = {
            **without_ca_bundle(os.environ),
            "HEARTH_DATA_DIR": data,
            "HEARTH_MODE": "dev",
            "DJANGO_SETTINGS_MODULE": "web.settings",
        }
        return run_json("-m", "bench.analytics_worker", "--child", env=env, timeout=600)


def main() -> None:
    if "--child" in sys.argv:
        print(json.dumps(_child()))
        return
    from bench import format_table, write_result

    result = run()
    print(format_table("analytics_worker", result))
    ok = result["worker_events_per_s"] >= TARGET
    print(f"target worker_events_per_s >= {TARGET:,}: {'met' if ok else 'MISSED'}")
    write_result("analytics_worker", result)


if __name__ == "__main__":
    main()
