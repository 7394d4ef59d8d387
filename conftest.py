"""Session fixtures: real nats-server and S3 (SeaweedFS) on free loopback ports.

Started once per test session (the S3 server can take seconds to accept its first write),
each in a temporary directory, waited on with a real probe, and always stopped. A missing
binary is an error, never a skip.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Tests never touch the developer's ./var.
os.environ.setdefault("HEARTH_DATA_DIR", tempfile.mkdtemp(prefix="hearth-test-data-"))
os.environ.pop("AWS_CA_BUNDLE", None)

import pytest

from web.core.testing import stop_group, wait_until
from web.stack.buckets import ensure_buckets
from web.stack.servers import NatsServer, S3Server

S3_KEY, S3_SECRET = "hearth-test", "hearth-test-secret-key"


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    stop_group(proc, grace=5)


@dataclasses.dataclass
class RunningNats:
    server: NatsServer
    proc: subprocess.Popen[bytes]
    config: Path
    log: Path

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        _stop(self.proc)

    def start(self) -> None:
        """(Re)start on the same port and store, e.g. after a test stopped it."""
        if self.proc.poll() is None:
            return
        self.proc = _start(self.server.argv(self.config), self.log)
        wait_until(
            self.server.ready, timeout=30, interval=0.2, message="nats-server", ignore=(Exception,)
        )


@pytest.fixture(autouse=True)
def history_dir(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Every test gets its own analytics history directory (Parquet segments): a file left
    by one test must never be read by another."""
    settings.HISTORY_DIR = tmp_path / "history"
    return settings.HISTORY_DIR


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNats]:
    root = tmp_path_factory.mktemp("nats")
    server = NatsServer(store_dir=root / "js")
    config = server.write_config(root / "nats.conf")
    log = root / "nats.log"
    running = RunningNats(server, _start(server.argv(config), log), config, log)
    try:
        wait_until(
            server.ready, timeout=30, interval=0.2, message="nats-server", ignore=(Exception,)
        )
        yield running
    finally:
        running.stop()


@dataclasses.dataclass
class RunningS3:
    server: S3Server
    proc: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def client(self) -> object:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningS3]:
    root = tmp_path_factory.mktemp("s3")
    server = S3Server(data_dir=root / "data", access_key=S3_KEY, secret_key=S3_SECRET)
    config = server.write_config(root / "s3.json")
    running = RunningS3(server, _start(server.argv(config), root / "weed.log"))
    try:
        wait_until(
            lambda: ensure_buckets(running.client(), ["public", "private", "backup"]) is None,
            timeout=120,
            interval=0.2,
            message="S3 server (weed)",
            ignore=(Exception,),
        )
        yield running
    finally:
        _stop(running.proc)


@pytest.fixture
def nats_env(settings, nats_server: RunningNats):  # type: ignore[no-untyped-def]
    """settings.ENV pointed at the session's real nats-server only (no S3: live_env adds it)."""
    settings.ENV = dataclasses.replace(
        settings.ENV, nats_url=nats_server.url, nats_monitor_url=nats_server.server.monitor_url
    )
    return settings.ENV


@pytest.fixture
def live_env(settings, nats_server: RunningNats, s3_server: RunningS3):  # type: ignore[no-untyped-def]
    """settings.ENV pointed at the session's real nats-server and S3 server."""
    settings.ENV = dataclasses.replace(
        settings.ENV,
        nats_url=nats_server.url,
        nats_monitor_url=nats_server.server.monitor_url,
        s3_endpoint=s3_server.endpoint,
        s3_public_url=s3_server.endpoint,
        s3_access_key=S3_KEY,
        s3_secret_key=S3_SECRET,
    )
    return settings.ENV


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium for the browser tests of one module."""
    from playwright.sync_api import sync_playwright

    from web.core.testing import launch_chromium

    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()
