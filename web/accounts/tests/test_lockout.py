"""Sign-in lockouts (issue 15, security 6): nobody can use up another reader's code
requests, and a proxy we do not trust is named at startup of traffic, with the variable."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
from pathlib import Path

import pytest
from django.test import Client

from tests.test_compose import ENV as COMPOSE_ENV
from tests.test_compose import _config
from web.accounts import services, views
from web.accounts.models import LoginCode

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])
OWNER, ATTACKER = "198.51.100.7", "203.0.113.66"


@pytest.fixture(autouse=True)
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The code emails, captured instead of published."""
    out: list[tuple[str, str]] = []
    monkeypatch.setattr(services, "_send_code_email", lambda e, c: out.append((e, c)))
    return out


def test_requests_for_someone_elses_email_do_not_lock_them_out() -> None:
    for _ in range(services.CODES_PER_EMAIL[0]):
        services.code_request(email="ann@example.com", ip=ATTACKER)
    with pytest.raises(services.RateLimited):  # the attacker's own IP is limited
        services.code_request(email="ann@example.com", ip=ATTACKER)
    # The old code: RateLimited here, for an hour, from any IP.
    code = services.code_request(email="ann@example.com", ip=OWNER)
    assert code is not None
    assert services.code_verify(email="ann@example.com", code=code, ip=OWNER).user


def test_a_request_while_a_code_is_live_sends_the_same_code_again(
    sent: list[tuple[str, str]],
) -> None:
    first = services.code_request(email="ann@example.com", ip=ATTACKER)
    again = services.code_request(email="ann@example.com", ip=OWNER)
    assert first == again and sent == [("ann@example.com", first)] * 2
    assert LoginCode.objects.count() == 1
    assert services.code_verify(email="ann@example.com", code=first, ip=OWNER).user


def test_resends_are_capped_without_refusing_anyone(sent: list[tuple[str, str]]) -> None:
    codes = {services.code_request(email="ann@example.com", ip=f"203.0.113.{i}") for i in range(12)}
    assert len(codes) == 1  # nobody got a 429, and the live code was never replaced
    assert len(sent) == 1 + services.RESENDS_PER_EMAIL[0]  # the inbox is not flooded
    assert services.code_verify(email="ann@example.com", code=codes.pop(), ip=OWNER).user


def test_a_used_or_burnt_code_is_replaced_by_a_new_one() -> None:
    used = services.code_request(email="ann@example.com", ip=OWNER)
    assert used is not None
    services.code_verify(email="ann@example.com", code=used, ip=OWNER)
    fresh = services.code_request(email="ann@example.com", ip=OWNER)
    assert fresh is not None
    wrong = f"{(int(fresh) + 1) % 1_000_000:06d}"
    for _ in range(services.MAX_FAILURES):
        with pytest.raises(services.SignInError):
            services.code_verify(email="ann@example.com", code=wrong, ip=ATTACKER)
    after_burn = services.code_request(email="ann@example.com", ip=OWNER)
    assert after_burn is not None
    with pytest.raises(services.SignInError):
        services.code_verify(email="ann@example.com", code=fresh, ip=OWNER)
    assert services.code_verify(email="ann@example.com", code=after_burn, ip=OWNER).user


def _sign_in_via(client: Client, peer: str, forwarded_for: str) -> None:
    response = client.post(
        "/accounts/sign-in/",
        {"email": "ann@example.com"},
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )
    assert response.status_code == 303, response.status_code


@pytest.fixture
def production(settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(views, "_proxy_warned", False, raising=False)  # raising: old code
    settings.ENV = dataclasses.replace(settings.ENV, mode="production", trusted_proxies=())
    return settings


def test_x_forwarded_for_from_an_untrusted_peer_is_named_once_in_production(
    production, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="web.accounts.views")
    client = Client()
    _sign_in_via(client, "172.18.0.1", "203.0.113.5")
    _sign_in_via(client, "172.18.0.1", "203.0.113.6")
    warnings = [r.getMessage() for r in caplog.records if r.name == "web.accounts.views"]
    assert len(warnings) == 1, warnings  # the old code: none
    assert "HEARTH_TRUSTED_PROXIES" in warnings[0] and "172.18.0.1" in warnings[0]


def test_no_warning_when_the_proxy_is_trusted_or_in_dev(
    production, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="web.accounts.views")
    client = Client()
    production.ENV = dataclasses.replace(production.ENV, trusted_proxies=("172.16.0.0/12",))
    _sign_in_via(client, "203.0.113.5", "203.0.113.5")  # web/asgi.py resolved the client
    _sign_in_via(client, "172.18.0.1", "")  # a trusted proxy
    production.ENV = dataclasses.replace(production.ENV, mode="dev", trusted_proxies=())
    _sign_in_via(client, "172.18.0.1", "203.0.113.5")
    assert not [r for r in caplog.records if r.name == "web.accounts.views"]


def test_compose_trusts_its_own_network_as_the_proxy(tmp_path: Path) -> None:
    out = _config(tmp_path, COMPOSE_ENV)
    assert out.returncode == 0, out.stderr
    env = json.loads(out.stdout)["services"]["web"]["environment"]
    nets = [ipaddress.ip_network(n) for n in env["HEARTH_TRUSTED_PROXIES"].split(",")]
    # Gateways of compose networks in Docker's default address pools.
    for gateway in ("172.17.0.1", "172.18.0.1", "172.31.0.1", "192.168.0.1", "192.168.240.1"):
        assert any(ipaddress.ip_address(gateway) in n for n in nets), gateway
    assert not any(ipaddress.ip_address("8.8.8.8") in n for n in nets)
