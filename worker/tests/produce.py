"""A producer process for tests: enqueue `count` jobs at a steady rate, sync or async.

    python -m worker.tests.produce TYPE COUNT PREFIX [--rate R] [--mode sync|async]
        [--batch N] [--extra JSON]

Job ids are PREFIX-0 .. PREFIX-(COUNT-1). Exits 0 only if every enqueue call returned
(i.e. each job was acknowledged by JetStream or stored in the outbox); prints a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("type")
    ap.add_argument("count", type=int)
    ap.add_argument("prefix")
    ap.add_argument("--rate", type=float, default=0.0, help="jobs per second, 0 = flat out")
    ap.add_argument("--mode", choices=["sync", "async"], default="sync")
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--extra", default="{}")
    a = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    import django

    django.setup()
    from web.messaging.jobs import enqueue, enqueue_many_async

    extra = json.loads(a.extra)
    start = time.monotonic()
    slowest = 0.0
    if a.mode == "sync":
        for i in range(a.count):
            t0 = time.monotonic()
            enqueue(a.type, {"n": i, **extra}, id=f"{a.prefix}-{i}")
            slowest = max(slowest, time.monotonic() - t0)
            if a.rate:
                time.sleep(max(0.0, start + (i + 1) / a.rate - time.monotonic()))
    else:

        async def run() -> float:
            worst = 0.0
            for lo in range(0, a.count, a.batch):
                ids = range(lo, min(lo + a.batch, a.count))
                t0 = time.monotonic()
                await enqueue_many_async(
                    [(a.type, {"n": i, **extra}, f"{a.prefix}-{i}") for i in ids]
                )
                worst = max(worst, time.monotonic() - t0)
                if a.rate:
                    due = start + (lo + len(ids)) / a.rate - time.monotonic()
                    await asyncio.sleep(max(0.0, due))
            return worst

        slowest = asyncio.run(run())
    summary = {"count": a.count, "elapsed_s": time.monotonic() - start, "slowest_s": slowest}
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
