"""`manage.py status`: the stack's processes and the same component health as /healthz."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from web.core.health import check_all, worker_heartbeat_read
from web.env import Env
from web.sqlite import version_risk
from web.stack.launch import StackPaths
from web.stack.live import use_live_stack


def _rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    """Children of every thread (Go programs fork from any thread, not just the main one)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(p) for p in f.read().split())
        except OSError:
            continue
    return found


def tree_rss_kib(pid: int) -> int | None:
    """RSS of a process and all its descendants (gunicorn workers, cron under litestream)."""
    own = _rss_kib(pid)
    if own is None:
        return None
    return own + sum(tree_rss_kib(child) or 0 for child in _children(pid))


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def process_rows(state: dict[str, Any]) -> list[tuple[str, int | None, str, int, int | None]]:
    """(name, pid, uptime, restarts, rss KiB) per process; cron is found under litestream.

    RSS counts a process with its descendants (gunicorn's workers), except litestream,
    whose child cron gets its own row.
    """
    rows = []
    now = time.time()
    for name, s in state.get("services", {}).items():
        pid = s.get("pid")
        alive = pid is not None and os.path.exists(f"/proc/{pid}")
        up = f"{now - s['started_at']:.0f}s" if alive else "down"
        if name == "litestream" and alive:
            rows.append((name, pid, up, s["restarts"], _rss_kib(pid)))
            for child in _children(pid):
                if b"cron" in _cmdline(child):
                    rows.append(("cron", child, up, s["restarts"], tree_rss_kib(child)))
            continue
        rows.append((name, pid, up, s["restarts"], tree_rss_kib(pid) if alive else None))
    return rows


class Command(BaseCommand):
    help = "Show the stack's processes and component health (exit 1 when unhealthy)."
    requires_system_checks: list[str] = []  # the SQLite note is printed below instead

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument(
            "--component",
            choices=["db", "nats", "s3", "litestream", "worker"],
            help="check only this component (for container healthchecks)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # manage.py already pointed settings.ENV at the running stack's endpoints; again
        # here for call_command (the same shared helper, idempotent).
        use_live_stack()
        env: Env = settings.ENV
        paths = StackPaths(env.data_dir)
        state: dict[str, Any] = {}
        if paths.state.exists():
            state = json.loads(paths.state.read_text())
        results = check_all(env, worker_grace_s=0)  # a one-off process: no start-up grace
        from web.messaging.selectors import queue_summary

        queue = queue_summary()
        if options["component"]:
            results = [r for r in results if r.name == options["component"]]
        healthy = all(r.ok for r in results)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "healthy": healthy,
                        "stack": state,
                        "components": [r.as_dict() for r in results],
                    },
                    indent=2,
                )
            )
        else:
            self._print(state, results, healthy)
            self._print_queue(queue, worker_heartbeat_read(env.data_dir))
        if not healthy:
            raise SystemExit(1)

    def _print(self, state: dict[str, Any], results: list[Any], healthy: bool) -> None:
        w = self.stdout.write
        if state:
            w(f"Stack at {state.get('url')} (supervisor pid {state.get('pid')})")
            w(f"Data dir {state.get('data_dir')}")
            w(f"{'process':<11} {'pid':>7} {'up':>9} {'restarts':>8} {'rss':>9}")
            for name, pid, up, restarts, rss in process_rows(state):
                mib = f"{rss // 1024} MiB" if rss else "-"
                w(f"{name:<11} {pid or '-':>7} {up:>9} {restarts:>8} {mib:>9}")
        else:
            w("No embedded stack is running on this data dir (make up starts one).")
        version, risk = version_risk()
        w(f"SQLite {version}" + (f": {risk}" if risk else ""))
        w("")
        w(f"{'component':<11} {'state':<6} detail")
        for r in results:
            w(f"{r.name:<11} {'ok' if r.ok else 'DOWN':<6} {r.detail} ({r.ms:.0f} ms)")
        w("")
        w("healthy" if healthy else "UNHEALTHY")

    def _print_queue(self, queue: dict[str, Any], beat: dict[str, Any] | None) -> None:
        w = self.stdout.write
        w("")
        cols = ("lag", "ack_pending", "processed", "failed", "redelivered", "dead_lettered")
        w(f"{'family':<12}" + "".join(f"{c.replace('_', ' '):>14}" for c in cols))
        for name, fam in queue["families"].items():
            cells = ("-" if fam.get(c) is None else str(fam[c]) for c in cols)
            w(f"{name:<12}" + "".join(f"{v:>14}" for v in cells))
        # The heartbeat, not the counters file: that one is written only when a counter
        # changed, so an idle, healthy worker read as "seen 132 s ago".
        if beat is None:
            seen = "worker heartbeat never written"
        else:
            state = "stopped" if beat.get("stopped") else "heartbeat"
            seen = f"worker {state} {beat['age_s']:.0f}s ago (pid {beat.get('pid')})"
        w(f"outbox {queue.get('outbox')} · dead letters {queue.get('dead_letters')} · {seen}")
        for error in queue.get("errors", []):
            w(f"queue: {error}")
