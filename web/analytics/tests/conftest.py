"""Fixtures for the analytics tests; the event payload builder is web.core.testing.events."""

from __future__ import annotations

import pytest

from web.analytics import pipeline


@pytest.fixture(autouse=True)
def _fresh_caches():
    pipeline.reset_caches()
    yield
    pipeline.reset_caches()


@pytest.fixture(autouse=True)
def _no_live(settings, request):
    """Unit tests run without NATS; live publishing is tested where a server runs."""
    if not {"live_env", "nats_env"} & set(request.fixturenames):
        settings.ANALYTICS_LIVE = False
