"""The whole stack, started with `make up` as a user starts it (issue: foundation)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from web.core.testing import wait_until
from web.env import REPO_ROOT
from web.stack.harness import StackRun

pytestmark = pytest.mark.stack

SERVICES = ["nats", "s3", "litestream", "web", "worker"]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _cron_pid(stack: StackRun) -> int:
    litestream = stack.state["services"]["litestream"]["pid"]
    for pid in _children(litestream):
        if b"cron" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError(f"no cron child under litestream {litestream}")


def _healthy(stack: StackRun) -> bool:
    try:
        return stack.health().status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    run = StackRun(tmp_path_factory.mktemp("stack"))
    pids: set[int] = set()
    try:
        run.healthy_after = run.wait_healthy()
        yield run
    finally:
        for s in run.state.get("services", {}).values():
            if s.get("pid"):
                pids.add(s["pid"])
        code = run.stop()
        run.exit_code = code
        leftovers = [p for p in pids if _alive(p)]
        assert not leftovers, f"processes left behind after Ctrl-C: {leftovers}"


def test_make_up_starts_six_processes_and_health_is_ok(stack: StackRun) -> None:
    body = stack.health().json()
    assert body["status"] == "ok", body
    assert set(body["components"]) == {"db", "nats", "s3", "litestream", "worker"}
    assert all(c["ok"] for c in body["components"].values()), body
    services = stack.state["services"]
    assert sorted(services) == sorted(SERVICES)
    for name in SERVICES:
        assert _alive(services[name]["pid"]), name
    assert _alive(_cron_pid(stack))
    log = stack.log()
    assert f"Site:    {stack.url}/" in log
    assert "Admin:" in log and "password" in log
    print(f"healthy after {stack.healthy_after:.1f}s")


def test_status_command_reports_processes_and_components(stack: StackRun) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["HEARTH_DATA_DIR"] = str(stack.data_dir)
    out = subprocess.run(
        [str(REPO_ROOT / ".venv/bin/python"), "manage.py", "status"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for name in [*SERVICES, "cron"]:
        row = rf"^{name}\s+\d+\s+\d+s\s+\d+\s+\d+ MiB$"
        assert re.search(row, out.stdout, re.MULTILINE), (name, out.stdout)
    for name in ("db", "nats", "s3", "litestream"):
        assert any(line.split()[:2] == [name, "ok"] for line in out.stdout.splitlines()), name
    assert "healthy" in out.stdout.splitlines()
    for family in ("analytics", "images", "notify", "maintenance"):
        assert re.search(rf"^{family}\s+\d+\s+\d+", out.stdout, re.MULTILINE), family
    assert "outbox 0 · dead letters 0" in out.stdout


def test_a_beacon_reaches_the_columnar_history_within_a_minute(stack: StackRun) -> None:
    """The promise in analytics.md ("Freshness"): accepted -> sealed by cron's 15 s ticker
    into a segment the filtered views read, in the real stack (worker, cron, DuckDB)."""
    import duckdb

    path = f"/fresh-{time.time_ns()}"
    sent = time.monotonic()
    resp = httpx.post(
        f"{stack.url}/api/event",
        content=f'{{"n":"pageview","u":"http://127.0.0.1{path}","d":"127.0.0.1"}}',
        headers={"content-type": "text/plain", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) "
                 "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"},
        timeout=5,
    )  # fmt: skip
    assert resp.status_code == 202, resp.text

    def sealed() -> bool:
        # Segments only: their visit partials (*.visits.parquet) have other columns.
        files = [str(p) for p in (stack.data_dir / "history").glob("L*-????????.parquet")]
        if not files:
            return False
        con = duckdb.connect()
        try:
            return con.execute(
                "SELECT count(*) FROM read_parquet(?) WHERE path = ?", [files, path]
            ).fetchall() != [(0,)]
        except duckdb.IOException:
            return False  # a merge removed a listed file: look again
        finally:
            con.close()

    wait_until(sealed, timeout=60, interval=0.25, message=f"{path} in a history segment")
    print(f"beacon sealed after {time.monotonic() - sent:.1f}s")


@pytest.mark.parametrize("victim", ["web", "worker", "nats", "s3", "litestream", "cron"])
def test_kill_9_of_a_child_is_restarted_and_health_returns(stack: StackRun, victim: str) -> None:
    if victim == "cron":
        pid = _cron_pid(stack)
        # cron dies -> litestream -exec exits with it -> the supervisor restarts both.
        owner = "litestream"
    else:
        pid = stack.state["services"][victim]["pid"]
        owner = victim
    restarts = stack.state["services"][owner]["restarts"]
    os.kill(pid, signal.SIGKILL)
    wait_until(
        lambda: (
            stack.state["services"][owner]["restarts"] > restarts
            and stack.state["services"][owner]["pid"] not in (None, pid)
        ),
        timeout=30,
        interval=0.25,
        message=f"{owner} restart",
    )
    wait_until(lambda: _healthy(stack), timeout=90, interval=0.25, message="health back to 200")
    new_pid = stack.state["services"][owner]["pid"]
    assert _alive(new_pid)
    if owner == "litestream":
        wait_until(lambda: _cron_pid(stack) != pid, timeout=30, interval=0.25, message="a new cron")
    assert f"{owner} (pid " in stack.log() and "exited with code" in stack.log()


def test_ctrl_c_stops_everything(stack: StackRun) -> None:
    pids = [s["pid"] for s in stack.state["services"].values()] + [_cron_pid(stack)]
    gunicorn_workers = _children(stack.state["services"]["web"]["pid"])
    # make itself dies of the SIGINT (as in a terminal); the supervisor stops the children.
    assert stack.stop() in (0, -signal.SIGINT, 2), stack.log()[-2000:]
    wait_until(
        lambda: not any(_alive(p) for p in pids + gunicorn_workers),
        timeout=30,
        interval=0.25,
        message="every process gone",
    )
    wait_until(
        lambda: "stopped; no process left behind" in stack.log(),
        timeout=10,
        interval=0.25,
        message="the stop message",
    )
    assert "Traceback" not in stack.log()
