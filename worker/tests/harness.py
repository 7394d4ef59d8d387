"""Helpers for tests that run the real worker (and producers) as subprocesses.

Each subprocess gets HEARTH_DATA_DIR pointing at one migrated temporary data dir and the
session's real nats-server, so the worker, producers, `manage.py queue` and the test all
see the same data.db/ttl.db and the same JetStream store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats

from web.core.testing import wait_until
from web.env import REPO_ROOT

PY = sys.executable
TEST_JOBS = "worker.tests.jobs_fixture"
EFFECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS test_effects ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " n INTEGER, delivered INTEGER)"
)
# Fast redelivery and backoff so tests take seconds; the production defaults are minutes.
FAST = {
    "HEARTH_JOBS_ACK_WAIT_S": "2",
    "HEARTH_JOBS_BACKOFF_S": "0.2",
    "HEARTH_JOBS_MAX_DELIVER": "3",
    "HEARTH_JOBS_RELAY_INTERVAL_S": "0.5",
}


@dataclass
class Proc:
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"process exited early:\n{self.output()[-3000:]}")
            return "worker ready" in self.output()

        wait_until(ready, timeout=timeout, message="worker ready")

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Harness:
    data_dir: Path
    nats: Any  # conftest RunningNats
    procs: list[Proc] = field(default_factory=list)

    # -- processes -------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "web.settings",
                "HEARTH_MODE": "dev",
                "HEARTH_DATA_DIR": str(self.data_dir),
                "HEARTH_NATS_URL": self.nats.url,
                "HEARTH_NATS_MONITOR_URL": self.nats.server.monitor_url,
                "HEARTH_WORKER_JOBS": TEST_JOBS,
                "HEARTH_LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
                **FAST,
            }
        )
        env.update(extra)
        return env

    def spawn(self, argv: list[str], name: str, **extra: str) -> Proc:
        log = self.data_dir / f"{name}-{len(self.procs)}.log"
        proc = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=self.env(**extra),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        p = Proc(proc, log)
        self.procs.append(p)
        return p

    def start_worker(self, families: str = "analytics,notify", **extra: str) -> Proc:
        w = self.spawn([PY, "-m", "worker"], "worker", HEARTH_WORKER_FAMILIES=families, **extra)
        w.wait_ready()
        return w

    def produce(self, job_type: str, count: int, *, prefix: str, **opts: Any) -> Proc:
        """A producer subprocess (worker/tests/produce.py) enqueuing ids prefix-0..count-1."""
        argv = [PY, "-m", "worker.tests.produce", job_type, str(count), prefix]
        for k, v in opts.items():
            argv += [f"--{k.replace('_', '-')}", str(v)]
        return self.spawn(argv, f"produce-{prefix}")

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(
            [PY, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and r.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r

    def cleanup(self) -> None:
        for p in self.procs:
            p.stop()
        self.procs.clear()

    # -- state -----------------------------------------------------------------------------
    def sql(self, query: str, params: tuple[Any, ...] = (), db: str = "data") -> list[Any]:
        con = sqlite3.connect(self.data_dir / f"{db}.db", timeout=10)
        try:
            return con.execute(query, params).fetchall()
        finally:
            con.close()

    def worker_counters(self) -> dict[str, dict[str, int]]:
        """The worker's counters file (flushed every 2 s)."""
        try:
            return read_json(self.data_dir / "run" / "worker-metrics.json")["families"]
        except (OSError, ValueError, KeyError):
            return {}

    def effects(self) -> list[tuple[str, str, int]]:
        return self.sql("SELECT job_id, kind, delivered FROM test_effects")

    def consumers(self) -> dict[str, dict[str, Any]]:
        r = httpx.get(
            f"{self.nats.server.monitor_url}/jsz",
            params={"streams": "true", "consumers": "true"},
            timeout=5,
        )
        out: dict[str, dict[str, Any]] = {}
        for acc in r.json().get("account_details", []):
            for st in acc.get("stream_detail", []) or []:
                for c in st.get("consumer_detail", []) or []:
                    out[c["name"]] = c
        return out

    def reset(self) -> None:
        """Fresh streams and empty tables; no worker may be running."""
        self.cleanup()

        async def drop() -> None:
            nc = await nats.connect(self.nats.url, connect_timeout=5)
            js = nc.jetstream()
            for name in ("JOBS", "JOBS_ADVISORIES"):
                with contextlib.suppress(Exception):
                    await js.delete_stream(name)
            await nc.close()

        asyncio.run(drop())
        con = sqlite3.connect(self.data_dir / "data.db")
        con.executescript(
            EFFECTS_DDL + ";DELETE FROM test_effects;DELETE FROM messaging_deadletter;"
            "DELETE FROM messaging_processedjob;"
        )
        con.commit()
        con.close()
        con = sqlite3.connect(self.data_dir / "ttl.db")
        con.execute("DELETE FROM messaging_outboxjob")
        con.commit()
        con.close()
        (self.data_dir / "run" / "worker-metrics.json").unlink(missing_ok=True)


def migrate(data_dir: Path, nats: Any) -> Harness:
    """A Harness on a freshly migrated data dir (both databases, one Python start)."""
    h = Harness(data_dir, nats)
    code = (
        "import django; django.setup(); from django.core.management import call_command; "
        "[call_command('migrate', database=db, verbosity=0) for db in ('default', 'ttl')]"
    )
    r = subprocess.run([PY, "-c", code], cwd=REPO_ROOT, env=h.env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return h


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def sigterm(p: Proc) -> None:
    p.signal(signal.SIGTERM)
