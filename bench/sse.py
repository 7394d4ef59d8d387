"""SSE benchmark: server memory per idle connection and NATS-to-browser fan-out latency.

One uvicorn process serves the real ASGI app (web.asgi, lean SSE path) against a private
nats-server. The client is raw asyncio sockets (one small Protocol per connection) so that
10,000 connections fit in the benchmark process too.

- ``rss_kib_per_conn_1k`` / ``rss_kib_per_conn_10k``: (server RSS with N idle connections that
  have received ``stream-open`` minus RSS before any) / N.
- ``fanout_p50_ms_1k`` / ``fanout_p99_ms_1k``: with 1,000 connections on one channel, time
  from a core-NATS publish to the moment the last of the 1,000 clients has the event.

Run: ``python -m bench.sse`` (or ``make bench BENCH=sse``).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHANNEL = "metrics.views.1"
PATH = f"/live/events/?channel={CHANNEL}"
ROUNDS = 200
CONNECT_BATCH = 250


def _raise_nofile(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, want)) if hard != resource.RLIM_INFINITY else max(soft, want)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def _cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class _Client(asyncio.Protocol):
    """One idle SSE connection: waits for stream-open, then watches for a marker."""

    __slots__ = ("opened", "seen", "tail", "transport", "watch")

    def __init__(self, opened: asyncio.Future[None], watch: dict[str, object]) -> None:
        self.opened = opened
        self.watch = watch
        self.tail = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        chunk = self.tail + data
        self.tail = chunk[-64:]
        if not self.opened.done():
            if b"stream-open" in chunk:
                self.opened.set_result(None)
            elif b" 403 " in chunk or b" 500 " in chunk:
                self.opened.set_exception(RuntimeError(chunk[:200].decode("latin-1")))
            return
        marker = self.watch.get("marker")
        if marker is not None and marker in chunk:
            self.tail = b""
            self.watch["left"] -= 1  # type: ignore[operator]
            if self.watch["left"] == 0:
                self.watch["done"].set_result(time.perf_counter())  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before stream-open"))


async def _open(port: int, n: int, watch: dict[str, object], conns: list[_Client]) -> None:
    loop = asyncio.get_running_loop()
    for start in range(0, n, CONNECT_BATCH):
        batch = []
        for _ in range(min(CONNECT_BATCH, n - start)):
            opened: asyncio.Future[None] = loop.create_future()
            _, proto = await loop.create_connection(
                lambda o=opened: _Client(o, watch), "127.0.0.1", port
            )
            conns.append(proto)
            batch.append(opened)
        await asyncio.wait_for(asyncio.gather(*batch), timeout=60)


async def _settle_rss(pid: int) -> int:
    """RSS after the server went quiet (two equal readings 0.5 s apart, at most 5 s)."""
    last = _rss_kib(pid)
    for _ in range(10):
        await asyncio.sleep(0.5)
        now = _rss_kib(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


async def _bench(port: int, pid: int, nats_url: str) -> dict[str, float]:
    import nats

    nc = await nats.connect(nats_url)
    watch: dict[str, object] = {}
    conns: list[_Client] = []

    # Warm up: the subscription must deliver, and first-use allocations must be done.
    await _open(port, 50, watch, conns)
    loop = asyncio.get_running_loop()
    for attempt in range(200):
        marker = f"warm-{attempt}".encode()
        watch.update(marker=marker, left=len(conns), done=loop.create_future())
        await nc.publish(f"events.{CHANNEL}", json.dumps({"m": marker.decode()}).encode())
        try:
            await asyncio.wait_for(asyncio.shield(watch["done"]), timeout=0.2)  # type: ignore[arg-type]
            break
        except TimeoutError:
            continue
    else:
        raise RuntimeError("server never delivered")
    for c in conns:
        assert c.transport is not None
        c.transport.close()
    conns.clear()
    watch.clear()
    await asyncio.sleep(0.5)

    base = await _settle_rss(pid)
    await _open(port, 1000, watch, conns)
    rss_1k = await _settle_rss(pid)

    latencies = []
    cpu_server, cpu_client = _cpu_s(pid), time.process_time()
    for i in range(ROUNDS):
        marker = f"m{i:05d}-".encode()
        done: asyncio.Future[float] = loop.create_future()
        watch.update(marker=marker, left=len(conns), done=done)
        t0 = time.perf_counter()
        await nc.publish(f"events.{CHANNEL}", json.dumps({"m": marker.decode()}).encode())
        await nc.flush()
        t_last = await asyncio.wait_for(done, timeout=10)
        latencies.append((t_last - t0) * 1000)
        await asyncio.sleep(0.02)
    cpu_server = (_cpu_s(pid) - cpu_server) / ROUNDS * 1000
    cpu_client = (time.process_time() - cpu_client) / ROUNDS * 1000
    watch.clear()

    await _open(port, 9000, watch, conns)
    rss_10k = await _settle_rss(pid)
    await nc.close()
    for c in conns:
        assert c.transport is not None
        c.transport.close()

    latencies.sort()
    return {
        "rss_kib_per_conn_1k": round((rss_1k - base) / 1000, 2),
        "rss_kib_per_conn_10k": round((rss_10k - base) / 10_000, 2),
        "fanout_p50_ms_1k": round(statistics.median(latencies), 2),
        "fanout_p99_ms_1k": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        # Where fan-out time goes: CPU per event, server vs. this client (same 2 cores).
        "fanout_server_cpu_ms_1k": round(cpu_server, 2),
        "fanout_client_cpu_ms_1k": round(cpu_client, 2),
        "server_rss_base_mib": round(base / 1024, 1),
        "server_rss_10k_mib": round(rss_10k / 1024, 1),
    }


def run() -> dict[str, float]:
    """Start nats-server and one uvicorn process, measure, stop both; return the metrics."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    os.environ.pop("AWS_CA_BUNDLE", None)
    _raise_nofile(12_000)  # inherited by the server process too

    from web.core.testing.server import Server, server_env
    from web.stack.servers import NatsServer, wait_until

    root = Path(tempfile.mkdtemp(prefix="hearth-bench-sse-"))
    nats_srv = NatsServer(store_dir=root / "js")
    config = nats_srv.write_config(root / "nats.conf")
    nats_proc = subprocess.Popen(
        nats_srv.argv(config),
        stdout=(root / "nats.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server: Server | None = None
    try:
        wait_until(nats_srv.ready, timeout=30, what="nats-server")
        env = server_env(nats_url=nats_srv.url, data_dir=root / "data", public=[CHANNEL])
        server = Server(env, log=root / "uvicorn.log").start()
        assert server.proc is not None
        return asyncio.run(_bench(server.port, server.proc.pid, nats_srv.url))
    finally:
        if server is not None:
            server.stop()
        nats_proc.terminate()
        try:
            nats_proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            nats_proc.kill()
            nats_proc.wait()


def main() -> None:
    results = run()
    width = max(len(k) for k in results)
    print(f"{'metric':<{width}}  value")
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    out = Path(__file__).resolve().parent.parent / "var" / "bench" / "sse.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(out)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
