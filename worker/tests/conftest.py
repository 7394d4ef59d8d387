"""Fixtures for the worker tests: one migrated data dir per session, fresh streams and tables
per test, and settings.ENV pointed at the session's nats-server so a test can enqueue
in-process (the real worker and producers run as subprocesses: harness.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from worker.tests.harness import Harness, migrate


@pytest.fixture(scope="session")
def _queue_harness(nats_server, tmp_path_factory: pytest.TempPathFactory) -> Harness:  # type: ignore[no-untyped-def]
    return migrate(tmp_path_factory.mktemp("queue-data"), nats_server)


@pytest.fixture
def queue(_queue_harness: Harness, settings) -> Iterator[Harness]:  # type: ignore[no-untyped-def]
    h = _queue_harness
    h.nats.start()  # in case an earlier test left it stopped
    h.reset()
    settings.ENV = dataclasses.replace(
        settings.ENV, nats_url=h.nats.url, nats_monitor_url=h.nats.server.monitor_url
    )
    try:
        yield h
    finally:
        h.cleanup()
        h.nats.start()
