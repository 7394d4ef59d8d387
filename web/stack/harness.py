"""Run the README's first command (`make up`) as a subprocess, as a user does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from web.env import REPO_ROOT
from web.stack.servers import free_port


class StackRun:
    """`make up` in its own session with its own port and data dir; stop() is Ctrl-C."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "make-up.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
        env.update({"HEARTH_DATA_DIR": str(data_dir), "HEARTH_PORT": str(self.port)})
        env.update(extra_env or {})
        data_dir.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            ["make", "up"],
            cwd=REPO_ROOT,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def state(self) -> dict:
        path = self.data_dir / "run" / "stack.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, timeout: float = 150) -> float:
        """Seconds from `make up` to /healthz 200; raises with the log tail on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise AssertionError(f"make up exited {code}:\n{self.log()[-3000:]}")
            try:
                ok = httpx.get(f"{self.url}/healthz", timeout=3).status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok and "Hearth is up" in self.log():
                return time.monotonic() - self.started
            time.sleep(0.25)
        raise AssertionError(f"stack not healthy after {timeout}s:\n{self.log()[-3000:]}")

    def health(self) -> httpx.Response:
        return httpx.get(f"{self.url}/healthz", timeout=5)

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C: SIGINT to the foreground process group, as a terminal does."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode
