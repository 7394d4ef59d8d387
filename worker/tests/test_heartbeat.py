"""The real worker keeps a liveness heartbeat that health reads (issue 15, reliability 4):
written at start-up, refreshed while idle, marked stopped on SIGTERM, stale after kill -9."""

from __future__ import annotations

import dataclasses
import json
import signal
import time
from typing import Any

import pytest

from web.core import health
from web.core.testing import wait_until
from worker.tests.harness import Harness

EVERY_S = 5.0  # web.core.health.HEARTBEAT_EVERY_S


def _beat(queue: Harness) -> dict[str, Any]:
    path = queue.data_dir / "run" / "worker-heartbeat.json"
    assert path.exists(), "the worker wrote no heartbeat"
    return json.loads(path.read_text())


def _status_worker(queue: Harness) -> dict[str, Any]:
    """The worker component as `manage.py status --json` reports it (no start-up grace)."""
    out = queue.manage("status", "--json", check=False).stdout
    [worker] = [c for c in json.loads(out)["components"] if c["name"] == "worker"]
    return worker


def test_worker_heartbeat_at_start_while_idle_and_after_stop(
    queue: Harness, monkeypatch: pytest.MonkeyPatch, settings
) -> None:  # type: ignore[no-untyped-def]
    (queue.data_dir / "run" / "worker-heartbeat.json").unlink(missing_ok=True)
    w = queue.start_worker(families="notify")
    first = _beat(queue)  # at "worker ready", before any job and any interval
    assert first["pid"] == w.proc.pid and not first["stopped"]
    assert time.time() - first["at"] < 3
    worker = _status_worker(queue)
    assert worker["ok"] is True, worker

    # Idle (no job at all): the heartbeat still moves on.
    wait_until(lambda: _beat(queue)["at"] > first["at"] + 1, timeout=EVERY_S + 3, message="a beat")

    w.signal(signal.SIGTERM)
    assert w.wait(20) == 0, w.output()
    assert _beat(queue)["stopped"] is True
    worker = _status_worker(queue)
    assert worker["ok"] is False and "worker stopped" in worker["detail"], worker

    # Right after a restart the heartbeat is fresh again; a kill -9 leaves it to go stale.
    w = queue.start_worker(families="notify")
    beat = _beat(queue)
    assert beat["pid"] == w.proc.pid and not beat["stopped"]
    assert _status_worker(queue)["ok"] is True
    w.signal(signal.SIGKILL)
    w.wait(10)
    monkeypatch.setattr(health, "WORKER_STALE_S", 1.0)
    wait_until(
        lambda: health.worker_heartbeat_read(queue.data_dir)["age_s"] > health.WORKER_STALE_S,
        timeout=5,
        message="the last heartbeat to pass the stale limit",
    )
    env = dataclasses.replace(settings.ENV, data_dir=queue.data_dir)
    [worker] = [r for r in health.check_all(env, worker_grace_s=0) if r.name == "worker"]
    assert worker.ok is False and "last heartbeat" in worker.detail, worker
