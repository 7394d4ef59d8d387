"""Fixtures for worker and messaging tests: one migrated data dir per session, fresh streams
and tables per test, and settings.ENV pointed at the session's nats-server so a test can
enqueue in-process."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from worker.tests.harness import Harness, migrate

_shared: dict[str, Harness] = {}


@pytest.fixture(scope="session")
def _queue_harness(nats_server, tmp_path_factory: pytest.TempPathFactory) -> Harness:  # type: ignore[no-untyped-def]
    # Shared by worker/tests and web/messaging/tests (each conftest registers the fixture).
    if "h" not in _shared:
        _shared["h"] = migrate(tmp_path_factory.mktemp("queue-data"), nats_server)
    return _shared["h"]


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
