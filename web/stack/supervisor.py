"""A small process supervisor: start in order, prefix logs, restart with backoff, stop cleanly.

Each child runs in its own session (process group), so stopping or reaping a child also
stops what it started (cron under Litestream). Children get PR_SET_PDEATHSIG, so even a
kill -9 of the supervisor leaves no server behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
HEALTHY_AFTER_S = 60.0
STOP_GRACE_S = 15.0
COLORS = ["36", "33", "35", "32", "34", "31", "96", "93"]
_PR_SET_PDEATHSIG = 1


def _prepare_child() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # One open SSE stream is one file descriptor: 10k streams per web process need the
    # soft limit raised to the hard limit (often 1024 by default).
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Service:
    """One supervised child process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready: Callable[[], bool] | None = None
    ready_timeout: float = 90.0
    stop_grace: float = STOP_GRACE_S
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    backoff: float = BACKOFF_START_S
    log: IO[str] | None = field(default=None, repr=False)


class Supervisor:
    """Runs services; call start_all(), then run_forever() until a signal asks to stop."""

    def __init__(self, services: list[Service], *, state_file: Path, log_dir: Path) -> None:
        self.services = services
        self.state_file = state_file
        self.log_dir = log_dir
        self.stopping = threading.Event()
        self._out_lock = threading.Lock()
        self._color = sys.stdout.isatty()
        self.extra_state: dict[str, object] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    # -- logging -----------------------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        width = max(len(s.name) for s in [*self.services, Service("stack", [], {})])
        label = f"{name:<{width}} |"
        if self._color:
            idx = next((i for i, s in enumerate(self.services) if s.name == name), 7)
            label = f"\033[{COLORS[idx % len(COLORS)]}m{label}\033[0m"
        with self._out_lock:
            sys.stdout.write(f"{label} {line}\n")
            sys.stdout.flush()

    def _pump(self, service: Service, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            if service.log is not None:
                service.log.write(line + "\n")
                service.log.flush()
            self.say(service.name, line)

    # -- lifecycle ---------------------------------------------------------------------------
    def _spawn(self, service: Service) -> None:
        if service.log is None:
            service.log = open(self.log_dir / f"{service.name}.log", "a")  # noqa: SIM115
        service.proc = subprocess.Popen(
            service.argv,
            env=service.env,
            cwd=service.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_prepare_child,
        )
        service.started_at = time.time()
        assert service.proc.stdout is not None
        threading.Thread(
            target=self._pump, args=(service, service.proc.stdout), daemon=True
        ).start()
        self.write_state()

    def _wait_ready(self, service: Service) -> None:
        if service.ready is None:
            return
        deadline = time.monotonic() + service.ready_timeout
        while time.monotonic() < deadline and not self.stopping.is_set():
            assert service.proc is not None
            if service.proc.poll() is not None:
                raise RuntimeError(f"{service.name} exited with code {service.proc.returncode}")
            try:
                if service.ready():
                    return
            except Exception:  # not ready yet
                pass
            time.sleep(0.2)
        if not self.stopping.is_set():
            raise RuntimeError(f"{service.name} not ready after {service.ready_timeout:.0f}s")

    def start_all(self, gates: dict[str, Callable[[], None]] | None = None) -> None:
        """Start every service in order, waiting on each readiness probe.

        ``gates`` maps a service name to a call that must return before it starts (the
        migrations child before litestream); a gate raises RuntimeError to abort."""
        for service in self.services:
            if self.stopping.is_set():
                return
            gate = (gates or {}).get(service.name)
            if gate is not None:
                gate()
                if self.stopping.is_set():
                    return
            self._spawn(service)
            self._wait_ready(service)
            assert service.proc is not None
            self.say("stack", f"started {service.name} (pid {service.proc.pid})")

    def _reap_group(self, service: Service) -> None:
        assert service.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(service.proc.pid, signal.SIGKILL)

    def check_children(self) -> None:
        """Restart any child that died, with exponential backoff."""
        now = time.time()
        for service in self.services:
            proc = service.proc
            if proc is None:
                if now >= service.next_start:
                    self._spawn(service)
                    assert service.proc is not None
                    self.say("stack", f"restarted {service.name} (pid {service.proc.pid})")
                continue
            code = proc.poll()
            if code is None:
                continue
            self._reap_group(service)
            uptime = now - service.started_at
            if uptime > HEALTHY_AFTER_S:
                service.backoff = BACKOFF_START_S
            service.restarts += 1
            service.next_start = now + service.backoff
            self.say(
                "stack",
                f"{service.name} (pid {proc.pid}) exited with code {code} after {uptime:.1f}s; "
                f"restart #{service.restarts} in {service.backoff:.1f}s",
            )
            service.backoff = min(service.backoff * 2, BACKOFF_MAX_S)
            service.proc = None
            self.write_state()

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            self.check_children()
            self.stopping.wait(0.2)

    def stop_all(self) -> None:
        """SIGTERM every service in reverse order, SIGKILL its group after the grace time."""
        self.stopping.set()
        for service in reversed(self.services):
            proc = service.proc
            if proc is None or proc.poll() is not None:
                continue
            self.say("stack", f"stopping {service.name} (pid {proc.pid})")
            # Signal the leader only: it stops its own children (gunicorn its workers,
            # litestream its -exec child); whatever is left of the group is killed below.
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=service.stop_grace)
            except subprocess.TimeoutExpired:
                self.say("stack", f"{service.name} ignored SIGTERM; killing")
            self._reap_group(service)
            proc.wait()
        for service in self.services:
            if service.log is not None:
                service.log.close()
        self.state_file.unlink(missing_ok=True)

    # -- state -------------------------------------------------------------------------------
    def write_state(self) -> None:
        """Atomically write run/stack.json: what `status` and the tests read."""
        state = {
            "pid": os.getpid(),
            **self.extra_state,
            "services": {
                s.name: {
                    "pid": s.proc.pid if s.proc is not None else None,
                    "restarts": s.restarts,
                    "started_at": s.started_at,
                }
                for s in self.services
            },
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)
