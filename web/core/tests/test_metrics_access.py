"""/metrics in production: a staff session or the bearer token, nothing else (issue 15,
security 9). A local client without X-Forwarded-For is not enough: any process on the box,
or a proxy that forwards without that header, would get in."""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])
TOKEN = "metrics-scrape-token-0123456789abcdef"


@pytest.fixture
def prod_env(settings, nats_server):  # type: ignore[no-untyped-def]
    """settings.ENV in production mode, pointed at the session's nats-server."""
    settings.ENV = dataclasses.replace(
        settings.ENV,
        mode="production",
        nats_url=nats_server.url,
        nats_monitor_url=nats_server.server.monitor_url,
    )
    return settings


def test_production_metrics_need_staff_or_the_token(prod_env) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    # A local client without X-Forwarded-For used to get the metrics.
    r = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert r.status_code == 403, r.content
    assert b"hearth_jobs" not in r.content
    # No token configured: an empty bearer token is not a match.
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403

    prod_env.ENV = dataclasses.replace(prod_env.ENV, metrics_token=TOKEN)
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    r = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    assert b"hearth_jobs_nats_up" in r.content

    staff = get_user_model().objects.create_user("ops", password="x" * 12, is_staff=True)
    client.force_login(staff)
    r = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert r.status_code == 200 and b"hearth_jobs_nats_up" in r.content


def test_production_metrics_refuse_a_signed_in_reader(prod_env) -> None:  # type: ignore[no-untyped-def]
    reader = get_user_model().objects.create_user("reader@example.org", password="x" * 12)
    client = Client()
    client.force_login(reader)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_dev_metrics_stay_open_to_localhost(settings, nats_server) -> None:  # type: ignore[no-untyped-def]
    settings.ENV = dataclasses.replace(
        settings.ENV, nats_url=nats_server.url, nats_monitor_url=nats_server.server.monitor_url
    )
    assert not settings.ENV.production
    client = Client()
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


def test_short_metrics_token_is_refused_in_production(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from web import env as envmod

    for key, value in {
        "HEARTH_MODE": "production",
        "HEARTH_SECRET_KEY": "k3Jx9-Vq2L_aPz7RtYw8NbCe4MfGh6UiOs1DlKjH5XcVbNmQwErTyUiOpAsDfGh",
        "HEARTH_ALLOWED_HOSTS": "example.org",
        "HEARTH_S3_SECRET_KEY": "a-real-s3-secret-0123456789",
        "HEARTH_DATA_DIR": str(tmp_path),
        "HEARTH_METRICS_TOKEN": "short",
    }.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(envmod.ConfigError, match="HEARTH_METRICS_TOKEN"):
        envmod.load()
    monkeypatch.setenv("HEARTH_METRICS_TOKEN", TOKEN)
    assert envmod.load().metrics_token == TOKEN
