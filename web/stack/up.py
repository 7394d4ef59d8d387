"""`make up` (`python -m web.stack.up`): run the whole stack under one lean supervisor.

The supervisor imports no Django and no boto3 (issue 18, item 6): it lives as long as the
stack, so whatever it imports it holds. Its Django work runs in children that exit
(``web.stack.prepare``): ``prepare db`` (both migrations, the admin account) runs while nats
and s3 start, and litestream (with cron), web and worker wait for it; ``prepare s3`` (buckets,
probe write, stack id) is the S3 readiness probe. ``manage.py up`` execs this.
"""

from __future__ import annotations

import fcntl
import json
import signal
import subprocess
import sys
import time

import httpx

from web.core.litestream import LitestreamMissing
from web.env import REPO_ROOT, ConfigError, Env, load
from web.sqlite import version_note
from web.stack.launch import KEPT_PASSWORD, StackPaths, build_services
from web.stack.servers import ServerError
from web.stack.supervisor import Supervisor


class UpError(Exception):
    """The stack could not start; the message says why (exit status 1)."""


def _prepare_db(env_vars: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "web.stack.prepare", "db"],
        env=env_vars,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def _prepared(proc: subprocess.Popen[str]) -> dict[str, str]:
    """Wait for ``prepare db``; its last stdout line is the admin account as JSON."""
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"migrations or the admin account failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def wait_healthy(sup: Supervisor, url: str, timeout: float = 120) -> None:
    """Poll /healthz until 200, restarting children that die meanwhile."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline and not sup.stopping.is_set():
        sup.check_children()
        try:
            r = httpx.get(f"{url}/healthz", timeout=5)
            if r.status_code == 200:
                return
            last = r.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    if not sup.stopping.is_set():
        raise RuntimeError(f"stack not healthy after {timeout:.0f}s: {last[:300]}")


def banner(facts: dict[str, object], user: str, password: str, paths: StackPaths, s: float) -> str:
    """What `make up` prints once the stack is healthy."""
    url = facts["url"]
    lines = [
        "",
        f"Hearth is up in {s:.1f}s.",
        f"  Site:    {url}/",
        f"  Stats:   {url}/dashboard/   (the analytics dashboard)",
        *(
            [f"  Admin:   {url}/admin/  user {user!r}, {password}"]
            if password == KEPT_PASSWORD
            else [
                f"  Admin:   {url}/admin/  user {user!r}, password {password!r}",
                f"           (kept in {paths.admin_password})",
            ]
        ),
        f"  Health:  {url}/healthz   Status: make status",
        f"  S3:      {facts['s3_endpoint']}   NATS: {facts['nats_url']}",
        f"  Data:    {facts['data_dir']}   Logs: {paths.logs}",
    ]
    note = version_note()
    if note:
        lines += ["", note]
    lines += ["Press Ctrl-C to stop everything.", ""]
    return "\n".join(lines)


def run(env: Env) -> None:
    """Start everything, print the banner, supervise until SIGINT/SIGTERM, stop it all."""
    t0 = time.monotonic()
    paths = StackPaths(env.data_dir)
    paths.run.mkdir(parents=True, exist_ok=True)
    lock = open(paths.lock, "w")  # noqa: SIM115  (held for the life of the stack)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise UpError(
            f"a stack is already running on {env.data_dir}; stop it first, or set "
            "HEARTH_DATA_DIR and HEARTH_PORT to run a second one"
        ) from exc
    try:
        services, facts = build_services(env)
    except (ServerError, LitestreamMissing) as exc:  # a server binary is missing
        raise UpError(str(exc)) from exc
    sup = Supervisor(services, state_file=paths.state, log_dir=paths.logs)
    sup.extra_state = facts

    def on_signal(signum: int, _frame: object) -> None:
        sup.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    prepare = _prepare_db(services[0].env)
    admin: dict[str, str] = {}

    def migrated() -> None:
        admin.update(_prepared(prepare))

    try:
        sup.start_all(gates={"litestream": migrated})
        if not sup.stopping.is_set():
            wait_healthy(sup, str(facts["url"]))
            elapsed = time.monotonic() - t0
            sup.extra_state["healthy_after_s"] = round(elapsed, 2)
            sup.write_state()
            print(banner(facts, admin["user"], admin["password"], paths, elapsed), flush=True)
            sup.run_forever()
    except RuntimeError as exc:
        sup.say("stack", f"error: {exc}; see {paths.logs}")
        sup.stop_all()
        raise UpError(str(exc)) from exc
    finally:
        if prepare.poll() is None:
            prepare.terminate()
            prepare.wait()
    sup.say("stack", "stopping (Ctrl-C again is not needed)")
    sup.stop_all()
    sup.say("stack", "stopped; no process left behind")
    lock.close()


def main() -> int:
    try:
        run(load())
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except UpError as exc:
        print(f"make up: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
