"""Time from `make up` to a healthy stack, and each process's idle memory.

Runs the README's first command as a subprocess on a free port and a fresh data dir, waits
for /healthz 200 and the banner, lets the stack idle for ``IDLE_S``, then reads memory:

- ``idle_rss_mib_<name>``: RSS of every process tree (gunicorn with its workers; cron apart
  from litestream) the way `make status` does. RSS counts a shared page in every process
  that maps it, so these overstate the box's use.
- ``idle_pss_mb_<name>`` and ``idle_pss_mb_total``: PSS from ``/proc/<pid>/smaps_rollup``
  for every process of the stack, the supervisor included (a shared page is split between
  the processes sharing it, so the sum counts it once). ``idle_pss_mb_web`` is the gunicorn
  master plus its workers, each also given as ``idle_pss_mb_web_<n>``; ``idle_processes``
  says how many processes were counted. MB = 10^6 bytes.
- ``idle_uss_mb_<name>`` and ``idle_uss_mb_total``: USS, the pages only that process holds
  (Private_Clean + Private_Dirty). PSS also splits shared library pages with every other
  process on the box that maps them (another stack's weed, other Python processes), so it
  moves with what else runs; USS does not, and is the memory stopping the process frees.
- ``load1_before``/``load1_after``: the box's 1-minute load average when the stack started
  and when memory was read (the box is shared: compare runs only with similar load).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from web.stack.harness import StackRun
from web.stack.management.commands.status import _children, _cmdline, process_rows

IDLE_S = 20.0


def _rollup(pid: int) -> dict[str, int]:
    """``/proc/<pid>/smaps_rollup`` as field -> KiB (empty when it is gone or unreadable)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        return {}
    return out


def pss_kib(pid: int) -> int:
    """The process's proportional set size in KiB (0 when it is gone or unreadable)."""
    return _rollup(pid).get("Pss", 0)


def uss_kib(pid: int) -> int:
    """The pages only this process holds, in KiB (0 when it is gone or unreadable)."""
    fields = _rollup(pid)
    return fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)


def _tree(pid: int) -> list[int]:
    out = [pid]
    for child in _children(pid):
        out.extend(_tree(child))
    return out


def stack_processes(state: dict[str, Any]) -> dict[str, list[int]]:
    """Process name → PIDs: the supervisor, each service's tree (cron apart from
    litestream, whose child it is)."""
    procs: dict[str, list[int]] = {"supervisor": [state["pid"]]}
    for name, s in state.get("services", {}).items():
        pid = s.get("pid")
        if pid is None or not os.path.exists(f"/proc/{pid}"):
            continue
        if name == "litestream":
            procs[name] = [pid]
            for child in _children(pid):
                key = "cron" if b"cron" in _cmdline(child) else name
                procs.setdefault(key, []).extend(_tree(child))
            continue
        procs[name] = _tree(pid)
    return procs


def pss_metrics(state: dict[str, Any]) -> dict[str, float]:
    """``idle_pss_mb_*`` for every process of the stack (see the module docstring)."""
    metrics: dict[str, float] = {}
    total = uss_total = 0
    count = 0
    for name, pids in stack_processes(state).items():
        sizes = [pss_kib(pid) for pid in pids]
        uss = sum(uss_kib(pid) for pid in pids)
        count += len(pids)
        total += sum(sizes)
        uss_total += uss
        metrics[f"idle_pss_mb_{name}"] = round(sum(sizes) * 1024 / 1e6, 1)
        metrics[f"idle_uss_mb_{name}"] = round(uss * 1024 / 1e6, 1)
        if name == "web":
            for i, size in enumerate(sizes):
                metrics[f"idle_pss_mb_web_{i}"] = round(size * 1024 / 1e6, 1)
    metrics["idle_pss_mb_total"] = round(total * 1024 / 1e6, 1)
    metrics["idle_uss_mb_total"] = round(uss_total * 1024 / 1e6, 1)
    metrics["idle_processes"] = count
    return metrics


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hearth-bench-stack-") as tmp:
        load_before = os.getloadavg()[0]
        stack = StackRun(Path(tmp) / "data")
        try:
            healthy_s = stack.wait_healthy()
            time.sleep(IDLE_S)
            rows = process_rows(stack.state)
            pss = pss_metrics(stack.state)
            load_after = os.getloadavg()[0]
        finally:
            stack.stop()
    metrics: dict[str, float] = {"healthy_s": round(healthy_s, 2)}
    for name, _pid, _up, _restarts, rss_kib in rows:
        metrics[f"idle_rss_mib_{name}"] = round((rss_kib or 0) / 1024, 1)
    metrics["idle_rss_mib_total"] = round(
        sum(v for k, v in metrics.items() if k.startswith("idle_rss_mib_")), 1
    )
    metrics.update(pss)
    metrics["load1_before"] = round(load_before, 2)
    metrics["load1_after"] = round(load_after, 2)
    return metrics


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
