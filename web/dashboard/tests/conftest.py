"""Fixtures: a small deterministic seeded site (raw visits and events plus the rollups the
same visits produce), so that rollup answers can be checked against raw counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from web.dashboard.seed import traffic_seed

# A fixed past window: yesterday and the 3 days before it, all complete UTC days.
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
DAYS = 4
FIRST = (END - timedelta(days=DAYS - 1)).date()
LAST = END.date()
RANGE = {"range": "custom", "from": str(FIRST), "to": str(LAST)}


@pytest.fixture
def seeded(db: None) -> dict[str, int]:
    return traffic_seed(site_id=1, events=3000, days=DAYS, end=END, raw=True, seed=11)
