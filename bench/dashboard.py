"""Dashboard benchmark: server time of every panel request at 1M and 10M seeded events.

Each dataset lives in its own data dir under ``var/bench/dashboard-<size>/`` and is seeded
once (``web.dashboard.seed.traffic_seed``: the rollup rows those events would produce, spread
over the 365 UTC days ending today, then compacted like the hourly cron job does); later runs
reuse it. A child process per dataset requests every panel (top stats, chart, each
breakdown, funnels) through the full Django stack with the test client, as a logged-in
staff user, for a 30-day range and a 365-day range, unfiltered (the rollup path).

Metrics (milliseconds, per panel request, after one warm-up round):
``p50_ms_30d_1m``, ``p95_ms_30d_1m``, ``p95_ms_30d_10m``, ``p95_ms_1y_10m`` and, for the
table, ``p50_ms_30d_10m``, ``p50_ms_1y_10m``, ``p95_ms_1y_1m``, ``seed_s_*`` (only when a
dataset was seeded on this run), ``rollup_rows_*``.

Run: ``python -m bench.dashboard`` (or ``make bench BENCH=dashboard``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIZES = {"1m": 1_000_000, "10m": 10_000_000}
DAYS = 365
ROUNDS = 8  # measured rounds over all panels per range
SEED_VERSION = 1  # bump when the generator changes, to reseed cached datasets


def _pct(s: list[float], p: float) -> float:
    s = sorted(s)
    return round(s[min(len(s) - 1, int(len(s) * p))], 2)


def _child(events: int) -> dict[str, float]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from web.dashboard.panels import PANELS
    from web.dashboard.seed import traffic_seed
    from web.dashboard.services import rollups_compact

    out: dict[str, float] = {}
    marker = Path(os.environ["HEARTH_DATA_DIR"]) / "seeded.json"
    want = {"events": events, "days": DAYS, "version": SEED_VERSION}
    if not marker.exists() or json.loads(marker.read_text()).get("params") != want:
        for db in ("default", "ttl"):
            call_command("migrate", database=db, verbosity=0)
        started = time.monotonic()
        traffic_seed(site_id=1, events=events, days=DAYS, seed=3, progress=True)
        rollups_compact(site_id=1, rebuild=True)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        out["seed_s"] = round(time.monotonic() - started, 1)
        get_user_model().objects.get_or_create(
            username="bench", defaults={"is_staff": True, "is_superuser": True}
        )
        marker.write_text(json.dumps({"params": want, "day": time.strftime("%Y-%m-%d")}))
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM analytics_rollup")
        out["rollup_rows"] = cur.fetchone()[0]
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    today = time.strftime("%Y-%m-%d", time.gmtime())
    first = time.strftime("%Y-%m-%d", time.gmtime(time.time() - (DAYS - 1) * 86400))
    ranges = {"30d": "range=30d", "1y": f"range=custom&from={first}&to={today}"}
    for label, qs in ranges.items():
        samples: list[float] = []
        for rnd in range(ROUNDS + 1):
            for name in PANELS:
                t = time.perf_counter()
                resp = client.get(f"/dashboard/1/panel/{name}/?{qs}")
                ms = (time.perf_counter() - t) * 1000
                assert resp.status_code == 200, (name, resp.status_code)
                if rnd:  # round 0 warms caches
                    samples.append(ms)
        out[f"p50_ms_{label}"] = round(statistics.median(samples), 2)
        out[f"p95_ms_{label}"] = _pct(samples, 0.95)
        out[f"max_ms_{label}"] = round(max(samples), 2)
    return out


def run() -> dict[str, float]:
    """Seed (once) and measure each dataset in a child process; return flat metrics."""
    result: dict[str, float] = {}
    for size, events in SIZES.items():
        data = REPO / "var" / "bench" / f"dashboard-{size}"
        data.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HEARTH_DATA_DIR": str(data), "HEARTH_MODE": "dev",
               "DJANGO_SETTINGS_MODULE": "web.settings", "HEARTH_LOG_LEVEL": "WARNING",
               "HEARTH_APP_CHECKPOINTS": "true"}  # fmt: skip
        env.pop("AWS_CA_BUNDLE", None)
        proc = subprocess.run(
            [sys.executable, "-m", "bench.dashboard", "--child", str(events)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, timeout=1800, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"dashboard benchmark ({size}) failed; see stderr above")
        for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items():
            result[f"{k}_{size}"] = v
    return result


def main() -> None:
    if "--child" in sys.argv:
        print(json.dumps(_child(int(sys.argv[-1]))))
        return
    result = run()
    width = max(map(len, result))
    print(f"{'metric':<{width}}  value")
    for k, v in result.items():
        print(f"{k:<{width}}  {v:,}")
    out = REPO / "var" / "bench" / "dashboard.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)


if __name__ == "__main__":
    main()
