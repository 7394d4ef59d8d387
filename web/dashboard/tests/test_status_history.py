"""The status page's analytics history section: what is sealed, the lag, the uploads."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from web.analytics.history import services as hs
from web.analytics.services import events_process_batch
from web.core.testing.events import ev

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


@pytest.fixture
def staff(client: Client) -> Client:
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create(username="owner", is_staff=True))
    return client


def _section(page: str) -> str:
    return page.split('id="history"', 1)[1].split("</section>", 1)[0]


def test_status_page_shows_the_history_lag_then_the_sealed_events(staff: Client) -> None:
    old = time.time() - 600  # ten minutes ago, never sealed: the seal job is down
    events_process_batch(payloads=[ev(old), ev(old + 1)], now=old + 2)
    section = _section(staff.get("/dashboard/status/").content.decode())
    assert "behind" in section and "0 events in 0 segments" in section
    hs.history_seal()
    section = _section(staff.get("/dashboard/status/").content.decode())
    assert "Up to date" in section
    assert "2 events in 1 segment " in section and "1 not yet in the backup bucket" in section
