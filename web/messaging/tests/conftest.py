"""Fixtures for the messaging tests (in-process, against the session's real nats-server)."""

import dataclasses

import pytest


@pytest.fixture
def nats_env(settings, nats_server):  # type: ignore[no-untyped-def]
    """settings.ENV pointed at the session's nats-server only (live_env also starts S3)."""
    settings.ENV = dataclasses.replace(
        settings.ENV, nats_url=nats_server.url, nats_monitor_url=nats_server.server.monitor_url
    )
    return settings.ENV
