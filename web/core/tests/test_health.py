"""/healthz covers the worker through its heartbeat file (issue 15, reliability 4).

The other components are stubbed here: this is the worker check and the view's answer; the
real worker writing the heartbeat is tested in worker/tests/test_heartbeat.py.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from django.test import Client

from web.core import health

STUBBED = ("db", "nats", "s3", "litestream")


@pytest.fixture
def data_dir(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    for name in STUBBED:
        monkeypatch.setitem(health.CHECKS, name, lambda env: "stubbed")
    # This process has been up long past the start-up grace, unless a test says otherwise.
    monkeypatch.setattr(health, "_PROCESS_STARTED", time.time() - 3600, raising=False)
    settings.ENV = dataclasses.replace(settings.ENV, data_dir=tmp_path)
    return tmp_path


def _beat(data_dir: Path, age_s: float, *, stopped: bool = False) -> None:
    path = data_dir / "run" / "worker-heartbeat.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"at": time.time() - age_s, "pid": 4242, "stopped": stopped}))


def _healthz() -> tuple[int, dict]:
    r = Client().get("/healthz")
    return r.status_code, r.json()


@pytest.mark.parametrize(
    ("case", "age_s", "stopped", "status", "words"),
    [
        ("a fresh heartbeat", 3, False, 200, "heartbeat 3s ago (pid 4242)"),
        ("a heartbeat over 30 s old", 45, False, 503, "last heartbeat 45s ago (pid 4242)"),
        ("a clean stop", 2, True, 503, "worker stopped 2s ago"),
    ],
)
def test_healthz_follows_the_worker_heartbeat(data_dir, case, age_s, stopped, status, words):  # type: ignore[no-untyped-def]
    _beat(data_dir, age_s, stopped=stopped)
    code, body = _healthz()
    assert code == status, (case, body)
    worker = body["components"]["worker"]
    assert worker["ok"] is (status == 200), case
    assert words in worker["detail"], (case, worker)
    if status == 503:
        assert "worker" in worker["detail"]
        assert all(body["components"][name]["ok"] for name in STUBBED)


def test_healthz_is_503_when_no_worker_ever_ran(data_dir) -> None:  # type: ignore[no-untyped-def]
    code, body = _healthz()
    assert code == 503
    assert "no heartbeat" in body["components"]["worker"]["detail"]


def test_a_just_started_web_process_waits_for_the_first_heartbeat_but_not_for_a_dead_worker(
    data_dir, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # compose starts the worker only once web is healthy: no heartbeat yet, or one left by
    # the previous run, is "starting" for the first 90 s of a web process ...
    monkeypatch.setattr(health, "_PROCESS_STARTED", time.time() - 10)
    assert _healthz()[0] == 200
    _beat(data_dir, 600)
    code, body = _healthz()
    assert code == 200 and body["components"]["worker"]["detail"].startswith("starting")
    # ... but a worker that beat after this process started and then stopped is down.
    _beat(data_dir, 5, stopped=True)
    assert _healthz()[0] == 503
    # `manage.py status` is a fresh process every time: it allows no grace.
    monkeypatch.setattr(health, "_PROCESS_STARTED", time.time())
    (data_dir / "run" / "worker-heartbeat.json").unlink()
    from django.conf import settings

    results = health.check_all(settings.ENV, worker_grace_s=0)
    [worker] = [r for r in results if r.name == "worker"]
    assert worker.ok is False and "no heartbeat" in worker.detail
