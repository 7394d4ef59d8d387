"""`manage.py up`: migrate, then run the whole stack under one supervisor until Ctrl-C."""

from __future__ import annotations

import fcntl
import signal
import time
from typing import Any

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from web.backups.errors import BackupsError
from web.sqlite import version_risk
from web.stack.launch import KEPT_PASSWORD, StackPaths, build_services, ensure_admin
from web.stack.servers import ServerError
from web.stack.supervisor import Supervisor


class Command(BaseCommand):
    help = "Start nats, s3, litestream (+cron), web and worker; Ctrl-C stops them all."

    def handle(self, *args: Any, **options: Any) -> None:
        t0 = time.monotonic()
        env = settings.ENV
        paths = StackPaths(env.data_dir)
        paths.run.mkdir(parents=True, exist_ok=True)
        lock = open(paths.lock, "w")  # noqa: SIM115  (held for the life of the stack)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise CommandError(
                f"a stack is already running on {env.data_dir}; stop it first, or set "
                "HEARTH_DATA_DIR and HEARTH_PORT to run a second one"
            ) from exc

        version, risk = version_risk()
        self.stdout.write(f"stack | SQLite {version}" + (f" — {risk}" if risk else ""))
        for db in ("default", "ttl"):
            call_command("migrate", database=db, interactive=False, verbosity=0)
        user, password = ensure_admin(paths)
        try:
            services, facts = build_services(env)
        except (ServerError, BackupsError) as exc:  # a server binary is missing
            raise CommandError(str(exc)) from exc
        sup = Supervisor(services, state_file=paths.state, log_dir=paths.logs)
        sup.extra_state = facts

        def on_signal(signum: int, _frame: object) -> None:
            sup.stopping.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        try:
            sup.start_all()
            if not sup.stopping.is_set():
                self._wait_healthy(sup, str(facts["url"]))
                elapsed = time.monotonic() - t0
                sup.extra_state["healthy_after_s"] = round(elapsed, 2)
                sup.write_state()
                self._banner(facts, user, password, paths, elapsed)
                sup.run_forever()
        except RuntimeError as exc:
            sup.say("stack", f"error: {exc}; see {paths.logs}")
            sup.stop_all()
            raise CommandError(str(exc)) from exc
        sup.say("stack", "stopping (Ctrl-C again is not needed)")
        sup.stop_all()
        sup.say("stack", "stopped; no process left behind")
        lock.close()

    def _wait_healthy(self, sup: Supervisor, url: str, timeout: float = 120) -> None:
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

    def _banner(
        self, facts: dict[str, object], user: str, password: str, paths: StackPaths, s: float
    ) -> None:
        url = facts["url"]
        lines = [
            "",
            f"Hearth is up in {s:.1f}s.",
            f"  Site:    {url}/",
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
            "Press Ctrl-C to stop everything.",
            "",
        ]
        for line in lines:
            self.stdout.write(line)
        self.stdout.flush()
