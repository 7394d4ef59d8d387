"""Both databases are migrated and the router sends each model to the right one."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connections, router

from web.analytics.models import Site


def _tables(alias: str) -> set[str]:
    with connections[alias].cursor() as cur:
        cur.execute("SELECT name FROM sqlite_master WHERE type='table'")
        return {row[0] for row in cur.fetchall()}


@pytest.mark.django_db(databases=["default", "ttl"])
def test_tables_live_in_the_right_database() -> None:
    data, ttl = _tables("default"), _tables("ttl")
    assert {"auth_user", "analytics_site", "django_migrations"} <= data
    assert "django_session" in ttl and "django_session" not in data
    assert "auth_user" not in ttl and "analytics_site" not in ttl


@pytest.mark.parametrize(
    ("model", "alias"),
    [(Session, "ttl"), (get_user_model(), "default"), (Site, "default")],
)
def test_router_routes_reads_and_writes(model: type, alias: str) -> None:
    assert router.db_for_read(model) == alias
    assert router.db_for_write(model) == alias


@pytest.mark.django_db(databases=["default", "ttl"])
def test_rows_land_in_their_database() -> None:
    Session.objects.create(session_key="k" * 32, session_data="x", expire_date="2030-01-01T00:00Z")
    with connections["ttl"].cursor() as cur:
        cur.execute("SELECT count(*) FROM django_session")
        assert cur.fetchone()[0] == 1
    assert Site.objects.filter(pk=1, name="Hearth").exists()  # data migration on data.db


@pytest.mark.django_db(databases=["default", "ttl"])
def test_pragmas_are_applied() -> None:
    with connections["default"].cursor() as cur:
        cur.execute("PRAGMA foreign_keys")
        assert cur.fetchone()[0] == 1
        cur.execute("PRAGMA busy_timeout")
        assert cur.fetchone()[0] == 5000
        cur.execute("PRAGMA wal_autocheckpoint")
        assert cur.fetchone()[0] == 0  # Litestream is data.db's only checkpointer (ADR-3)
    with connections["ttl"].cursor() as cur:
        cur.execute("PRAGMA wal_autocheckpoint")
        assert cur.fetchone()[0] == 1000
