"""Benchmark: ingest while nats-server hangs (issue 15, R6: the circuit breaker).

Starts `manage.py up` (as bench/ingest.py does: throwaway HEARTH_DATA_DIR, free port,
HEARTH_TRUSTED_PROXIES=127.0.0.1 so beacons come from many addresses), sends native beacons
at a fixed rate (RATE/s, open loop: a request's latency counts from its scheduled time, so a
stalled server cannot hide it), each with its own path /outage/<i>. After WARM_S of load the
stack's nats-server is frozen with SIGSTOP for OUTAGE_S (its TCP connections stay open and
nothing answers), then SIGCONT, AFTER_S more load, and a wait until the worker stored
everything (the relay republishes the outbox under the same Nats-Msg-Id).

Keys: outage_p99_ms (beacons scheduled during the freeze; target <= 250),
outage_accepted_ratio (202s / beacons scheduled during the freeze; = 1.0), outage_lost
(accepted over the whole run, never stored; = 0), outage_duplicated (stored more than once;
= 0), plus context (p50, the slowest, how many took > 250 ms, the outbox's peak, load).

    python -m bench outage           # or make bench BENCH=outage
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.ingest import PY, REPO, _free_port, _http_ok, _stop, _wait, stack_env

RATE = int(os.environ.get("HEARTH_BENCH_OUTAGE_RATE", "1000"))  # beacons/s
OUTAGE_S = float(os.environ.get("HEARTH_BENCH_OUTAGE_S", "60"))
WARM_S = 10.0
AFTER_S = 10.0
CONNECTIONS = 64
DRAIN_TIMEOUT_S = 300
TARGET_P99_MS = 250
UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _request(host: str, key: str, i: int) -> bytes:
    body = json.dumps(
        {"k": key, "n": "pageview", "u": f"http://127.0.0.1/outage/{i}", "w": 1280}
    ).encode()
    ip = f"{1 + (i >> 16) % 223}.{(i >> 8) & 255}.{i & 255}.{1 + i % 250}"  # one per beacon
    head = (
        f"POST /ingest/e HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {UA}\r\n"
        f"Content-Type: text/plain;charset=UTF-8\r\nX-Forwarded-For: {ip}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _load(
    host: str, port: int, key: str, seconds: float, marks: dict[str, float]
) -> list[tuple[int, float, float, bool]]:
    """Open-loop load: beacon i is due at start + i/RATE. Returns (i, due, latency_s, ok)
    where ok means a 202 without a drop marker (latency counts from the due time)."""
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    out: list[tuple[int, float, float, bool]] = []
    start = time.monotonic()
    marks["load_start"] = start

    async def client() -> None:
        reader = writer = None
        while (item := await queue.get()) is not None:
            i, due = item
            ok = False
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(_request(host, key, i))
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                ok = head.startswith(b"HTTP/1.1 202") and b"x-hearth-drop" not in head.lower()
            except Exception:
                if writer is not None:
                    writer.close()
                reader = writer = None
            out.append((i, due, time.monotonic() - due, ok))
        if writer is not None:
            writer.close()

    tasks = [asyncio.create_task(client()) for _ in range(CONNECTIONS)]
    total = int(seconds * RATE)
    for i in range(total):
        due = start + i / RATE
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, due))
    for _ in tasks:
        queue.put_nowait(None)
    await asyncio.gather(*tasks)
    return out


def _stored(db: Path) -> dict[int, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute(
            "SELECT path, count(*) FROM analytics_event WHERE path LIKE '/outage/%' GROUP BY path"
        ).fetchall()
    finally:
        con.close()
    return {int(p.rsplit("/", 1)[1]): n for p, n in rows}


def _outbox(ttl: Path) -> int:
    con = sqlite3.connect(f"file:{ttl}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM messaging_outboxjob").fetchone()[0]
    finally:
        con.close()


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def run() -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="hearth-bench-outage-"))
    data = root / "data"
    port = _free_port()
    env = stack_env(data, port)
    stack = subprocess.Popen(
        [str(PY), "manage.py", "up"], cwd=REPO, env=env, stdout=(root / "up.log").open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    nats_pid = None
    frozen = False
    try:
        state = data / "run" / "stack.json"
        _wait(lambda: state.exists() and _http_ok(f"http://127.0.0.1:{port}/healthz"), 240,
              "stack (manage.py up)")  # fmt: skip
        nats_pid = json.loads(state.read_text())["services"]["nats"]["pid"]
        con = sqlite3.connect(f"file:{data / 'data.db'}?mode=ro", uri=True)
        key = con.execute("SELECT public_key FROM analytics_site WHERE id = 1").fetchone()[0]
        con.close()

        marks: dict[str, float] = {}
        outbox_peak = 0
        load_before = os.getloadavg()[0]

        def freezer() -> None:
            nonlocal frozen, outbox_peak
            while "load_start" not in marks:
                time.sleep(0.01)
            time.sleep(max(0.0, marks["load_start"] + WARM_S - time.monotonic()))
            os.kill(nats_pid, signal.SIGSTOP)
            frozen, marks["frozen"] = True, time.monotonic()
            while time.monotonic() < marks["frozen"] + OUTAGE_S:
                with contextlib.suppress(sqlite3.Error):
                    outbox_peak = max(outbox_peak, _outbox(data / "ttl.db"))
                time.sleep(1.0)
            os.kill(nats_pid, signal.SIGCONT)
            frozen, marks["thawed"] = False, time.monotonic()

        t = threading.Thread(target=freezer, daemon=True)
        t.start()
        results = asyncio.run(_load("127.0.0.1", port, key, WARM_S + OUTAGE_S + AFTER_S, marks))
        t.join()
        load_during = os.getloadavg()[0]
        down, up = marks["frozen"], marks["thawed"]
        during = [r for r in results if down <= r[1] < up]
        lat = [r[2] for r in during]
        accepted = {r[0] for r in results if r[3]}

        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(sqlite3.Error):
                if accepted <= set(_stored(data / "data.db")) and not _outbox(data / "ttl.db"):
                    break
            time.sleep(1.0)
        time.sleep(3.0)  # a late duplicate would be in by now
        stored = _stored(data / "data.db")
        return {
            "outage_p99_ms": round(_pct(lat, 0.99) * 1000, 1),
            "outage_p50_ms": round(_pct(lat, 0.50) * 1000, 1),
            "outage_max_ms": round(max(lat) * 1000, 1),
            "outage_over_250ms": sum(1 for x in lat if x > TARGET_P99_MS / 1000),
            "outage_accepted_ratio": round(sum(1 for r in during if r[3]) / len(during), 4),
            "outage_lost": len(accepted - set(stored)),
            "outage_duplicated": sum(n - 1 for n in stored.values() if n > 1),
            "outage_beacons": len(during),
            "beacons_sent": len(results),
            "beacons_accepted": len(accepted),
            "outbox_peak": outbox_peak,
            "rate_per_s": RATE,
            "outage_s": OUTAGE_S,
            "box_load_avg_1m_before": round(load_before, 2),
            "box_load_avg_1m_after": round(load_during, 2),
        }
    finally:
        if frozen and nats_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(nats_pid, signal.SIGCONT)
        _stop(stack)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    from bench import format_table, write_result

    res = run()
    print(format_table("outage", res))
    print(f"wrote {write_result('outage', res)}")
