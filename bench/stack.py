"""Time from `make up` to a healthy stack, and each process's idle memory.

Runs the README's first command as a subprocess on a free port and a fresh data dir, waits
for /healthz 200 and the banner, lets the stack idle, then reads RSS of every process tree
(gunicorn with its workers; cron apart from litestream) the way `make status` does.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from web.stack.harness import StackRun
from web.stack.management.commands.status import process_rows

IDLE_S = 15.0


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hearth-bench-stack-") as tmp:
        stack = StackRun(Path(tmp) / "data")
        try:
            healthy_s = stack.wait_healthy()
            time.sleep(IDLE_S)
            rows = process_rows(stack.state)
        finally:
            stack.stop()
    metrics: dict[str, float] = {"healthy_s": round(healthy_s, 2)}
    for name, _pid, _up, _restarts, rss_kib in rows:
        metrics[f"idle_rss_mib_{name}"] = round((rss_kib or 0) / 1024, 1)
    metrics["idle_rss_mib_total"] = round(
        sum(v for k, v in metrics.items() if k.startswith("idle_rss_mib_")), 1
    )
    return metrics


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
