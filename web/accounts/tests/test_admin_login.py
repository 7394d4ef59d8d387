"""Django admin's password login is throttled per IP and per username with the ttl.db
limiter the code sign-in uses (issue 15, security 3)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from web.accounts import services

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])
PASSWORD = "a-long-admin-password"
THROTTLED = "Too many sign-in attempts"


@pytest.fixture
def boss():  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_superuser("boss", "boss@example.org", PASSWORD)


def _login(ip: str, username: str, password: str):  # type: ignore[no-untyped-def]
    return Client().post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )


def test_wrong_passwords_from_one_ip_are_throttled(boss) -> None:  # type: ignore[no-untyped-def]
    limit = services.ADMIN_LOGIN_PER_IP[0]
    ip = "198.51.100.20"
    for i in range(limit):
        r = _login(ip, f"guess{i}", "wrong-password")
        assert r.status_code == 200 and THROTTLED not in r.content.decode()
    # Over the limit: the form says so, for any username, and the right password does not
    # get in either (nothing is checked, so nothing is revealed).
    for username, password in [("guess-next", "wrong-password"), ("boss", PASSWORD)]:
        r = _login(ip, username, password)
        assert r.status_code == 200, r.status_code
        assert THROTTLED in r.content.decode()
        assert "_auth_user_id" not in r.wsgi_request.session
    # Another address is not affected.
    assert _login("198.51.100.21", "boss", PASSWORD).status_code == 302


def test_wrong_passwords_for_one_username_are_throttled_across_ips(boss) -> None:  # type: ignore[no-untyped-def]
    limit = services.ADMIN_LOGIN_PER_USERNAME[0]
    for i in range(limit):
        r = _login(f"203.0.113.{i + 1}", "boss", "wrong-password")
        assert THROTTLED not in r.content.decode()
    r = _login("203.0.113.200", "boss", PASSWORD)
    assert r.status_code == 200 and THROTTLED in r.content.decode()
    assert "_auth_user_id" not in r.wsgi_request.session
    # The same message for a username that does not exist: the limit reveals no accounts.
    for i in range(limit):
        _login(f"192.0.2.{i + 1}", "nobody", "wrong-password")
    r = _login("192.0.2.200", "nobody", "wrong-password")
    assert THROTTLED in r.content.decode()


def test_forty_wrong_passwords_do_not_all_get_a_plain_answer(boss) -> None:  # type: ignore[no-untyped-def]
    """The attack from the issue: 40 wrong passwords from one IP."""
    bodies = [_login("198.51.100.40", "boss", f"wrong-{i}").content.decode() for i in range(40)]
    assert sum(THROTTLED in b for b in bodies) >= 30
