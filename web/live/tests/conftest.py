"""Fixtures shared by the live tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from web.live import channels


@pytest.fixture
def registry() -> Iterator[None]:
    """An empty channel-check registry for one test; the apps' checks come back after."""
    saved = dict(channels._checks)
    channels._checks.clear()
    channels._cache.clear()
    yield
    channels._checks.clear()
    channels._checks.update(saved)
    channels._cache.clear()
