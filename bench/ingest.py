"""Benchmark: beacons/s into the stack as a user starts it, through JetStream into rollups.

Starts `manage.py up` (HEARTH_WEB_WORKERS=2, a throwaway HEARTH_DATA_DIR, a free port,
HEARTH_TRUSTED_PROXIES=127.0.0.1 so that wrk can spread beacons over many client IPs through
X-Forwarded-For, as a reverse proxy would), waits for /healthz, then on loopback:

1. ceiling: the same gunicorn + uvicorn-worker config (2 workers) serving a minimal ASGI app
   that reads the body and answers 204, loaded by the same wrk script;
2. ingest: wrk POSTs native tracker beacons (pageviews, custom events, engagement) to
   /ingest/e (accepted = 2xx; the traffic is built to pass every drop rule, and a drop
   would show up as a loss in step 4).
   The worker runs meanwhile on the same 2 cores; a poller watches data.db's
   analytics_event table: lag per event = time first seen in the table - receive stamp;
3. burst: the stack's worker is paused (SIGSTOP) while wrk runs again, so ingest has the box
   (burst_*); then it is resumed and drains the backlog from JetStream: that drain rate is
   worker_events_per_s (worker_events_per_s_under_load is its rate during step 2);
4. loss: sent (2xx answers, both runs) against stored rows plus events the worker dropped
   with a counted reason.

    python -m bench.ingest          # prints a table, writes var/bench/ingest.json
    from bench.ingest import run    # -> {"accepted_per_s": ..., ...}
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PY = REPO / ".venv" / "bin" / "python"
CONNECTIONS = int(os.environ.get("HEARTH_BENCH_CONNECTIONS", "64"))
WARMUP_S = 3
DURATION_S = 15
BURST_S = 10
DRAIN_TIMEOUT_S = 120
TARGET_ACCEPTED = 5_000
TARGET_P99_MS = 50

LUA = r"""
local key = os.getenv("HEARTH_BENCH_KEY")
local ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " ..
  "Chrome/131.0.0.0 Safari/537.36"
local refs = {"", "", "", "https://www.google.com/", "https://news.ycombinator.com/"}
function init(args)
  math.randomseed(os.time() * 1000 + (tonumber(tostring({}):sub(8), 16) or 0) % 1000)
end

-- Visitors: a pageview from a new address; custom events and engagement come from an
-- address that recently sent a pageview (the worker drops engagement without a session).
local recent, nrecent, slot = {}, 0, 0

local function new_ip()
  return math.random(1, 223) .. "." .. math.random(0, 255) .. "." ..
    math.random(0, 255) .. "." .. math.random(1, 254)
end

request = function()
  local page = "http://127.0.0.1/blog/post-" .. math.random(1, 60)
  local r = math.random()
  local body, ip
  if r < 0.80 or nrecent < 100 then
    ip = new_ip()
    slot = slot % 1000 + 1
    recent[slot] = ip
    if nrecent < 1000 then nrecent = nrecent + 1 end
    body = '{"k":"' .. key .. '","n":"pageview","u":"' .. page .. '","r":"' ..
      refs[math.random(#refs)] .. '","w":1280,"l":"en-US","t":"A post"}'
  elseif r < 0.90 then
    ip = recent[math.random(1, nrecent)]
    body = '{"k":"' .. key .. '","n":"Signup","u":"' .. page .. '","p":{"plan":"pro"}}'
  else
    ip = recent[math.random(1, nrecent)]
    body = '{"k":"' .. key .. '","n":"engagement","u":"' .. page ..
      '","e":' .. math.random(500, 60000) .. ',"s":' .. math.random(0, 100) .. '}'
  end
  return wrk.format("POST", "/ingest/e", {
    ["Content-Type"] = "text/plain;charset=UTF-8",
    ["User-Agent"] = ua,
    ["X-Forwarded-For"] = ip,
  }, body)
end

done = function(summary, latency, requests)
  -- No response() callback: it makes wrk parse every response and costs the server CPU on
  -- this 2-core box. Non-2xx answers are summary.errors.status; drops (202 + marker) are
  -- caught by the loss check, since a dropped beacon is never stored.
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non_2xx":%d,' ..
    '"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


async def ceiling_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The HTTP ceiling: read the body, answer 204 (run by gunicorn in this benchmark)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _free_port() -> int:
    from web.stack.servers import free_port

    return free_port()


def _wait(probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if probe():
                return
        time.sleep(0.3)
    raise RuntimeError(f"{what} not ready after {timeout:.0f}s")


def _http_ok(url: str) -> bool:
    import httpx

    return httpx.get(url, timeout=3).status_code == 200


def _wrk(url: str, script: Path, seconds: int, env: dict[str, str]) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    out = subprocess.run(
        [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
         url],
        capture_output=True, text=True, env=env, timeout=seconds + 60, check=True,
    )  # fmt: skip
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("WRK "))
    return json.loads(line[4:])


def _stop(proc: subprocess.Popen[bytes], grace: float = 60) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace(" ", "T")).timestamp() if value else 0.0


class StoreWatcher:
    """Polls analytics_event for new rows; records when each was first seen."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.last_id = 0
        self.count = 0
        self.lags: list[float] = []
        self.first_seen = 0.0
        self.last_seen = 0.0

    def poll(self) -> int:
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            rows = con.execute(
                "SELECT id, ts FROM analytics_event WHERE id > ? ORDER BY id", (self.last_id,)
            ).fetchall()
        finally:
            con.close()
        now = time.time()
        if rows:
            self.first_seen = self.first_seen or now
            self.last_seen = now
            self.last_id = rows[-1][0]
            self.count += len(rows)
            self.lags.extend(now - _ts(ts) for _, ts in rows)
        return len(rows)


def _count(db: Path, table: str) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def stack_env(data: Path, port: int) -> dict[str, str]:
    """Environment for `make up` on ``data`` and ``port`` with nothing from this shell's
    HEARTH_*; the load generator on 127.0.0.1 is the trusted proxy (shared by bench/outage)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.pop("AWS_CA_BUNDLE", None)
    env.update(
        HEARTH_DATA_DIR=str(data),
        HEARTH_PORT=str(port),
        HEARTH_WEB_WORKERS="2",
        HEARTH_TRUSTED_PROXIES="127.0.0.1",
        DJANGO_SETTINGS_MODULE="web.settings",
    )
    return env


def run() -> dict[str, float]:
    """Start the stack, measure ceiling, ingest and the worker, stop everything."""
    root = Path(tempfile.mkdtemp(prefix="hearth-bench-ingest-"))
    data = root / "data"
    port, ceiling_port = _free_port(), _free_port()
    env = stack_env(data, port)
    script = root / "beacons.lua"
    script.write_text(LUA)
    stack = subprocess.Popen(
        [str(PY), "manage.py", "up"], cwd=REPO, env=env, stdout=(root / "up.log").open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    ceiling: subprocess.Popen[bytes] | None = None
    results: dict[str, float] = {}
    try:
        state = data / "run" / "stack.json"
        _wait(lambda: state.exists() and _http_ok(f"http://127.0.0.1:{port}/healthz"), 240,
              "stack (manage.py up)")  # fmt: skip
        base = json.loads(state.read_text()).get("url", f"http://127.0.0.1:{port}")
        con = sqlite3.connect(f"file:{data / 'data.db'}?mode=ro", uri=True)
        key = con.execute("SELECT public_key FROM analytics_site WHERE id = 1").fetchone()[0]
        con.close()
        wrk_env = {**env, "HEARTH_BENCH_KEY": key}

        # 1. The HTTP ceiling, same server config, while the stack idles.
        ceiling = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "gunicorn"), "bench.ingest:ceiling_app",
             "--worker-class", "web.core.gunicorn_worker.HearthUvicornWorker", "--workers", "2",
             "--bind", f"127.0.0.1:{ceiling_port}"],
            cwd=REPO, env=env, stdout=(root / "ceiling.log").open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        ceiling_url = f"http://127.0.0.1:{ceiling_port}"
        _wait(lambda: _wrk(ceiling_url, script, 1, wrk_env)["requests"] > 0, 60, "ceiling app")
        c = _wrk(ceiling_url, script, DURATION_S, wrk_env)
        results["ceiling_per_s"] = round(c["requests"] / (c["duration_us"] / 1e6), 1)
        _stop(ceiling, grace=10)
        ceiling = None

        # 2. Ingest: warm up (NATS links, site snapshots, caches), let the worker catch up.
        watcher = StoreWatcher(data / "data.db")
        _wrk(base, script, WARMUP_S, wrk_env)
        quiet_since = began = time.monotonic()
        while time.monotonic() - quiet_since < 3 and time.monotonic() - began < 60:
            if watcher.poll():
                quiet_since = time.monotonic()
            time.sleep(0.3)
        warm_count = watcher.count
        db = data / "data.db"
        warm_dropped = _count(db, "analytics_droppedevent")
        watcher.lags.clear()
        watcher.first_seen = 0.0

        # Poll the store while wrk runs, in a thread, so lag is seen as it happens.
        import threading

        stop = threading.Event()

        def poll_loop() -> None:
            while not stop.is_set():
                with contextlib.suppress(sqlite3.Error):
                    watcher.poll()
                time.sleep(0.1)

        def settled(sent: int, timeout: float = DRAIN_TIMEOUT_S) -> None:
            """Wait until every sent event is stored or dropped by the worker."""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                dropped = _count(db, "analytics_droppedevent") - warm_dropped
                if watcher.count - warm_count + dropped >= sent:
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # rows from in-flight requests wrk gave up on at the cut-off

        poller = threading.Thread(target=poll_loop, daemon=True)
        poller.start()

        # 2. Steady load with the worker running beside ingest on the same 2 cores.
        load_before = os.getloadavg()[0]
        w = _wrk(base, script, DURATION_S, wrk_env)
        load_end = time.time()
        sent = w["requests"] - w["non_2xx"] - w["socket_errors"]
        settled(sent)
        concurrent_rate = (watcher.count - warm_count) / max(
            watcher.last_seen - watcher.first_seen, 1e-9
        )
        lags = list(watcher.lags)
        drain_after = max(watcher.last_seen - load_end, 0.0)

        # 3. Burst: the worker paused (SIGSTOP), so ingest has the box; then the worker
        # drains the backlog from JetStream, which is its own throughput into rollups.
        worker_pid = json.loads(state.read_text())["services"]["worker"]["pid"]
        before_burst = watcher.count
        os.kill(worker_pid, signal.SIGSTOP)
        try:
            b = _wrk(base, script, BURST_S, wrk_env)
        finally:
            os.kill(worker_pid, signal.SIGCONT)
        resumed = time.time()
        burst_sent = b["requests"] - b["non_2xx"] - b["socket_errors"]
        settled(sent + burst_sent)
        drain_rate = (watcher.count - before_burst) / max(watcher.last_seen - resumed, 1e-9)
        stop.set()
        poller.join()
        watcher.poll()
        stored = watcher.count - warm_count
        worker_dropped = _count(db, "analytics_droppedevent") - warm_dropped
        results.update(
            accepted_per_s=round(sent / (w["duration_us"] / 1e6), 1),
            p50_ms=round(w["p50_us"] / 1000, 2),
            p99_ms=round(w["p99_us"] / 1000, 2),
            worker_events_per_s=round(drain_rate, 1),
            worker_events_per_s_under_load=round(concurrent_rate, 1),
            lag_p50_s=round(_pct(lags, 0.50), 3),
            lag_p99_s=round(_pct(lags, 0.99), 3),
            burst_accepted_per_s=round(burst_sent / (b["duration_us"] / 1e6), 1),
            burst_p50_ms=round(b["p50_us"] / 1000, 2),
            burst_p99_ms=round(b["p99_us"] / 1000, 2),
            sent=sent + burst_sent,
            stored=stored,
            worker_dropped=worker_dropped,
            non_2xx=w["non_2xx"] + b["non_2xx"],
            socket_errors=w["socket_errors"] + b["socket_errors"],
            connections=CONNECTIONS,
            box_load_avg_1m=round(load_before, 2),
            drain_after_load_s=round(drain_after, 2),
        )
        return results
    finally:
        if ceiling is not None:
            _stop(ceiling, grace=10)
        _stop(stack)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    from bench import format_table, write_result

    results = run()
    print(format_table("ingest", results))
    ok_rate = results["accepted_per_s"] >= TARGET_ACCEPTED and results["p99_ms"] < TARGET_P99_MS
    ok_burst = (
        results["burst_accepted_per_s"] >= TARGET_ACCEPTED
        and results["burst_p99_ms"] < TARGET_P99_MS
    )
    lost = results["sent"] - results["stored"] - results["worker_dropped"]
    print(
        f"target >= {TARGET_ACCEPTED:,} accepted/s with p99 < {TARGET_P99_MS} ms: "
        f"steady {'met' if ok_rate else 'MISSED'}, burst {'met' if ok_burst else 'MISSED'}; "
        f"lost (sent - stored - worker_dropped, < 0 = cut-off requests): {lost:,}"
    )
    print(f"wrote {write_result('ingest', results)}", file=sys.stderr)


if __name__ == "__main__":
    main()
