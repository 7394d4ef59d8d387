"""Helpers to run the real ASGI app (web.asgi) under uvicorn in subprocesses, and a tiny
blocking SSE client. Used by the tests and by bench/sse.py.

``web.core.testing.server:application`` is web.asgi's application plus public-channel checks
that allow exactly the channels in HEARTH_TEST_PUBLIC_CHANNELS (comma-separated), standing in
for the checks the blog and dashboard apps register. Without that variable (but with
HEARTH_TEST_LIVE_KNOBS=1) the apps' real checks stay. Limits can be shortened for a test:
HEARTH_TEST_LIVE_RECHECK_S (runtime.ACCESS_RECHECK_S), HEARTH_TEST_LIVE_MAX_PER_IP
(sse.MAX_STREAMS_PER_IP).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from web.core.litestream import without_ca_bundle
from web.core.testing import run_json, session_key_for, wait_until
from web.env import REPO_ROOT

PY = sys.executable


def _register_test_checks() -> None:
    from web.live.channels import PUBLIC_PREFIXES, register_public_check

    allowed = {c for c in os.environ.get("HEARTH_TEST_PUBLIC_CHANNELS", "").split(",") if c}
    for prefix in PUBLIC_PREFIXES:
        register_public_check(prefix, lambda key, p=prefix: p + key in allowed)


def _apply_test_knobs() -> None:
    from web.live import runtime, sse

    if recheck := os.environ.get("HEARTH_TEST_LIVE_RECHECK_S"):
        runtime.ACCESS_RECHECK_S = float(recheck)
    if per_ip := os.environ.get("HEARTH_TEST_LIVE_MAX_PER_IP"):
        sse.MAX_STREAMS_PER_IP = int(per_ip)


if os.environ.get("HEARTH_TEST_PUBLIC_CHANNELS") is not None or os.environ.get(
    "HEARTH_TEST_LIVE_KNOBS"
):
    from web.asgi import application  # noqa: F401

    _apply_test_knobs()
    if os.environ.get("HEARTH_TEST_PUBLIC_CHANNELS") is not None:
        _register_test_checks()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(*, nats_url: str, data_dir: Path, public: list[str]) -> dict[str, str]:
    env = without_ca_bundle(os.environ)
    env.update(
        HEARTH_NATS_URL=nats_url,
        HEARTH_DATA_DIR=str(data_dir),
        HEARTH_TEST_PUBLIC_CHANNELS=",".join(public),
        HEARTH_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="web.settings",
    )
    return env


def setup_users(env: dict[str, str]) -> dict[str, str]:
    """Migrate auth+sessions in the server's data dir; return session keys by user name."""
    return run_json("-m", "web.core.testing.server", "setup-users", env=env)


def _setup_users_main() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    for db in ("default", "ttl"):
        for app in ("contenttypes", "auth", "sessions"):
            call_command("migrate", app, database=db, verbosity=0)
    User = get_user_model()
    keys = {}
    for name, staff in (("staff", True), ("reader", False)):
        user, _ = User.objects.get_or_create(username=name, defaults={"is_staff": staff})
        keys[name] = session_key_for(user)
    print(json.dumps(keys))


@dataclass
class Server:
    """One uvicorn process serving the app on a free port."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self, app: str = "web.core.testing.server:application") -> Server:
        out = self.log.open("wb") if self.log else subprocess.DEVNULL
        # --no-proxy-headers as in production (web/core/gunicorn_worker.py): plain uvicorn
        # would believe X-Forwarded-For from 127.0.0.1, i.e. from every test client.
        self.proc = subprocess.Popen(
            [PY, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(self.port),
             "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "2",
             "--no-proxy-headers"],
            env=self.env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_until(self._listening, timeout=30, interval=0.1, message="uvicorn listening")
        return self

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {self.proc.returncode}; see {self.log}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@dataclass
class SseEvent:
    event: str
    id: str | None
    data: str


class SseClient:
    """Blocking SSE reader over a raw socket; enough HTTP/1.1 for one chunked response."""

    def __init__(
        self,
        port: int,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
            f"{extra}\r\n".encode()
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])
        }
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.text = ""  # de-chunked body read so far, not yet parsed into events
        self.ended = False  # the server ended the response (the last, empty chunk arrived)

    def _recv(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the stream")
        self.buf += data

    def _dechunk(self) -> None:
        if not self.chunked:
            self.text += self.buf.decode()
            self.buf = b""
            return
        while b"\r\n" in self.buf:
            size_line, rest = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return
            self.text += rest[:size].decode()
            self.buf = rest[size + 2 :]
            if size == 0:
                self.ended = True
                return

    def body(self) -> str:
        """For a non-streaming answer (403 etc.): the whole body."""
        length = int(self.headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._recv()
        return self.buf[:length].decode()

    def events(self) -> Iterator[SseEvent]:
        """Events in order, skipping keep-alives and comments; stops when the response
        ended; a socket timeout raises."""
        while True:
            self._dechunk()
            while "\n\n" in self.text:
                raw, self.text = self.text.split("\n\n", 1)
                fields: dict[str, list[str]] = {}
                for line in raw.split("\n"):
                    if not line or line.startswith(":"):
                        continue
                    name, _, value = line.partition(":")
                    fields.setdefault(name, []).append(value.removeprefix(" "))
                if not fields:
                    continue
                ev = SseEvent(
                    fields.get("event", ["message"])[0],
                    fields.get("id", [None])[0],
                    "\n".join(fields.get("data", [])),
                )
                if ev.event != "keep-alive":
                    yield ev
            if self.ended:
                return
            self._recv()

    def next_event(self) -> SseEvent:
        return next(self.events())

    def close(self) -> None:
        self.sock.close()


def wait_delivering(client: SseClient, channel: str, *, timeout: float = 20.0) -> None:
    """Publish probes to ``channel`` until ``client`` gets one as a message: the server
    subscribes in the background, so a stream that is open may not deliver yet. Set a short
    socket timeout on the client first (each read waits that long for a probe)."""
    from web.live.publish import publish_event

    def delivered() -> bool:
        publish_event(f"events.{channel}", {"probe": True})
        try:
            return client.next_event().event == "message"
        except TimeoutError:
            return False

    wait_until(delivered, timeout=timeout, interval=0, message=f"{channel} delivering an event")


if __name__ == "__main__" and sys.argv[1:] == ["setup-users"]:
    _setup_users_main()
