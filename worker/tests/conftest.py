"""Fixtures for worker tests: one migrated data dir per session, fresh streams per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from worker.tests.harness import Harness, migrate


@pytest.fixture(scope="session")
def _queue_harness(nats_server, tmp_path_factory: pytest.TempPathFactory) -> Harness:  # type: ignore[no-untyped-def]
    return migrate(tmp_path_factory.mktemp("queue-data"), nats_server)


@pytest.fixture
def queue(_queue_harness: Harness) -> Iterator[Harness]:
    _queue_harness.nats.start()  # in case an earlier test left it stopped
    _queue_harness.reset()
    try:
        yield _queue_harness
    finally:
        _queue_harness.cleanup()
        _queue_harness.nats.start()
