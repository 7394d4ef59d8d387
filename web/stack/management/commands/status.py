"""`manage.py status`: the stack's processes and the same component health as /healthz."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from web.core.health import check_all
from web.env import Env
from web.stack.launch import StackPaths


def _rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Command(BaseCommand):
    help = "Show the stack's processes and component health (exit 1 when unhealthy)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument(
            "--component",
            choices=["db", "nats", "s3", "litestream"],
            help="check only this component (for container healthchecks)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        env: Env = settings.ENV
        paths = StackPaths(env.data_dir)
        state: dict[str, Any] = {}
        if paths.state.exists():
            state = json.loads(paths.state.read_text())
            # Check the stack's own endpoints, not this shell's defaults.
            overrides = state.get("env", {})
            env = Env(
                **{
                    **env.__dict__,
                    "nats_monitor_url": overrides.get(
                        "HEARTH_NATS_MONITOR_URL", env.nats_monitor_url
                    ),
                    "s3_endpoint": overrides.get("HEARTH_S3_ENDPOINT", env.s3_endpoint),
                    "litestream_url": overrides.get("HEARTH_LITESTREAM_URL", env.litestream_url),
                }
            )
        results = check_all(env)
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
        if not healthy:
            raise SystemExit(1)

    def _print(self, state: dict[str, Any], results: list[Any], healthy: bool) -> None:
        w = self.stdout.write
        if state:
            w(f"Stack at {state.get('url')} (supervisor pid {state.get('pid')})")
            w(f"Data dir {state.get('data_dir')}")
            w(f"{'process':<11} {'pid':>7} {'up':>9} {'restarts':>8} {'rss':>9}")
            for name, s in state.get("services", {}).items():
                pid = s.get("pid")
                alive = pid is not None and os.path.exists(f"/proc/{pid}")
                up = f"{time.time() - s['started_at']:.0f}s" if alive else "down"
                rss = _rss_kib(pid) if alive else None
                w(
                    f"{name:<11} {pid or '-':>7} {up:>9} {s['restarts']:>8} "
                    f"{(str(rss // 1024) + ' MiB') if rss else '-':>9}"
                )
        else:
            w("No embedded stack is running on this data dir (make up starts one).")
        w("")
        w(f"{'component':<11} {'state':<6} detail")
        for r in results:
            w(f"{r.name:<11} {'ok' if r.ok else 'DOWN':<6} {r.detail} ({r.ms:.0f} ms)")
        w("")
        w("healthy" if healthy else "UNHEALTHY")
