"""Django's admin carries Hearth's brand, the analytics links and the live alert bar."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.mark.django_db(databases=["default", "ttl"])
def test_admin_index_has_alert_bar_for_staff() -> None:
    user = get_user_model().objects.create_superuser("boss", "boss@example.org", "pw-long-enough")
    client = Client()
    client.force_login(user)
    html = client.get("/admin/").content.decode()
    assert "Hearth admin" in html
    assert 'id="alerts"' in html and "/live/admin/events/?channel=alerts.errors" in html
    assert 'href="/dashboard/"' in html
    assert "dashboard/dashboard.js" in html


@pytest.mark.django_db(databases=["default", "ttl"])
def test_admin_login_page_has_no_alert_stream() -> None:
    html = Client().get("/admin/login/").content.decode()
    assert "Hearth admin" in html
    assert 'id="alerts"' not in html
