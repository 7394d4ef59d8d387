"""Reuse the worker tests' harness fixtures (real nats-server, migrated data dir)."""

import dataclasses

import pytest

from worker.tests.conftest import _queue_harness, queue  # noqa: F401


@pytest.fixture
def nats_env(settings, nats_server):  # type: ignore[no-untyped-def]
    """settings.ENV pointed at the session's nats-server only (live_env also starts S3)."""
    settings.ENV = dataclasses.replace(
        settings.ENV, nats_url=nats_server.url, nats_monitor_url=nats_server.server.monitor_url
    )
    return settings.ENV
