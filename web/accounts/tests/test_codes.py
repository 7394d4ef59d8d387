"""One-time codes: replay, expiry, the 6th try, supersession, enumeration, limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from web.accounts import services
from web.accounts.models import LoginCode, Profile

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])
IP = "198.51.100.7"


@pytest.fixture(autouse=True)
def _no_enqueue(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Capture the code email instead of publishing (NATS delivery is tested elsewhere)."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(services, "_send_code_email", lambda e, c: sent.append((e, c)))
    return sent


def test_code_is_six_digits_and_only_hmac_is_stored() -> None:
    code = services.code_request(email="Ann@Example.com", ip=IP)
    assert code is not None and len(code) == 6 and code.isdigit()
    row = LoginCode.objects.using("ttl").get(email="ann@example.com")
    assert code not in row.code_hmac and len(row.code_hmac) == 64


def test_good_code_signs_in_once_and_replay_fails() -> None:
    code = services.code_request(email="ann@example.com", ip=IP)
    signed = services.code_verify(email="ann@example.com", code=code, ip=IP)
    assert signed.created and signed.user.username == "ann@example.com"
    assert not signed.user.has_usable_password()
    assert Profile.objects.filter(user=signed.user).exists()
    assert not LoginCode.objects.filter(email="ann@example.com").exists()
    with pytest.raises(services.SignInError):
        services.code_verify(email="ann@example.com", code=code, ip=IP)


def test_expired_code_fails_and_is_deleted() -> None:
    code = services.code_request(email="ann@example.com", ip=IP)
    LoginCode.objects.filter(email="ann@example.com").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(services.SignInError):
        services.code_verify(email="ann@example.com", code=code, ip=IP)
    assert not LoginCode.objects.filter(email="ann@example.com").exists()
    assert not get_user_model().objects.filter(username="ann@example.com").exists()


def test_code_still_valid_just_before_ten_minutes() -> None:
    code = services.code_request(email="ann@example.com", ip=IP)
    row = LoginCode.objects.get(email="ann@example.com")
    assert (
        timedelta(minutes=9, seconds=59) < row.expires_at - timezone.now() <= timedelta(minutes=10)
    )
    assert services.code_verify(email="ann@example.com", code=code, ip=IP).user


def test_five_wrong_tries_burn_the_code_so_the_sixth_right_one_fails() -> None:
    code = services.code_request(email="ann@example.com", ip=IP)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(services.SignInError):
            services.code_verify(email="ann@example.com", code=wrong, ip=IP)
    assert LoginCode.objects.get(email="ann@example.com").failures == 4
    with pytest.raises(services.SignInError):
        services.code_verify(email="ann@example.com", code=wrong, ip=IP)  # 5th: burnt
    assert not LoginCode.objects.filter(email="ann@example.com").exists()
    with pytest.raises(services.SignInError):
        services.code_verify(email="ann@example.com", code=code, ip=IP)  # 6th, right code


def test_new_code_supersedes_the_old_one() -> None:
    # Asking again while a code is live sends it again (issue 15, security 6; see
    # test_lockout.py); a new code replaces it once it has expired.
    old = services.code_request(email="ann@example.com", ip=IP)
    assert services.code_request(email="ann@example.com", ip=IP) == old
    LoginCode.objects.update(expires_at=timezone.now())
    new = services.code_request(email="ann@example.com", ip=IP)
    while new == old:  # 1 in a million: ask again so the test means something
        LoginCode.objects.update(expires_at=timezone.now())
        new = services.code_request(email="ann@example.com", ip="203.0.113.8")
    with pytest.raises(services.SignInError):
        services.code_verify(email="ann@example.com", code=old, ip=IP)
    assert services.code_verify(email="ann@example.com", code=new, ip=IP).user
    assert LoginCode.objects.count() == 0


def test_limits_per_email_and_per_ip() -> None:
    for _ in range(services.CODES_PER_EMAIL[0]):
        services.code_request(email="ann@example.com", ip=IP)
    with pytest.raises(services.RateLimited):
        services.code_request(email="ann@example.com", ip=IP)
    # Per email *and IP*: another IP is not locked out of the address (issue 15, security 6).
    services.code_request(email="ann@example.com", ip="203.0.113.9")
    for i in range(services.CODES_PER_IP[0] - services.CODES_PER_EMAIL[0] - 1):  # 1: refused
        services.code_request(email=f"u{i}@example.com", ip=IP)
    with pytest.raises(services.RateLimited):
        services.code_request(email="new@example.com", ip=IP)
    services.code_request(email="new@example.com", ip="203.0.113.10")  # other IP is fine


def test_bad_email_is_rejected_and_nothing_stored() -> None:
    with pytest.raises(services.SignInError):
        services.code_request(email="not-an-email", ip=IP)
    assert LoginCode.objects.count() == 0


def _post_email(client: Client, email: str):  # type: ignore[no-untyped-def]
    return client.post("/accounts/sign-in/", {"email": email, "next": "/"})


def test_known_and_unknown_email_get_identical_answers(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ACCOUNTS_OPEN_SIGNUP = False
    get_user_model().objects.create_user(username="known@example.com", email="known@example.com")
    known = _post_email(Client(), "known@example.com")
    unknown = _post_email(Client(), "unknown@example.com")
    assert known.status_code == unknown.status_code == 303
    assert known.content == unknown.content
    assert known["Location"] == unknown["Location"] == "/accounts/sign-in/code/"
    assert LoginCode.objects.filter(email="known@example.com").exists()
    assert not LoginCode.objects.filter(email="unknown@example.com").exists()
    # With open sign-up (the default) the answer is the same again, and both get a code.
    settings.ACCOUNTS_OPEN_SIGNUP = True
    known2 = _post_email(Client(), "known@example.com")
    unknown2 = _post_email(Client(), "unknown@example.com")
    assert (
        (known2.status_code, known2.content, known2["Location"])
        == (
            unknown2.status_code,
            unknown2.content,
            unknown2["Location"],
        )
        == (known.status_code, known.content, known["Location"])
    )
    assert LoginCode.objects.filter(email="unknown@example.com").exists()


def test_sign_in_flow_puts_the_session_in_ttl_db(_no_enqueue) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    assert _post_email(client, "reader@example.com").status_code == 303
    (email, code), *_ = _no_enqueue
    assert email == "reader@example.com"
    assert client.get("/accounts/sign-in/code/").status_code == 200
    bad = client.post("/accounts/sign-in/code/", {"code": "000000" if code != "000000" else "1"})
    assert bad.status_code == 400 and b"wrong or has expired" in bad.content
    ok = client.post("/accounts/sign-in/code/", {"code": code})
    assert ok.status_code == 303 and ok["Location"] == "/"
    key = client.cookies["sessionid"].value
    session = Session.objects.using("ttl").get(session_key=key)
    user = get_user_model().objects.get(username="reader@example.com")
    assert session.get_decoded()["_auth_user_id"] == str(user.pk)
    assert services.user_is_reader(user) and not services.user_is_staff(user)


def test_open_redirect_is_refused(_no_enqueue) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.post("/accounts/sign-in/", {"email": "r@example.com", "next": "https://evil.example/"})
    (_, code), *_ = _no_enqueue
    assert client.post("/accounts/sign-in/code/", {"code": code})["Location"] == "/"


def test_ttl_cleanup_removes_expired_codes_and_windows() -> None:
    from web.accounts.cleanup import clean_codes
    from web.core import ratelimit
    from web.core.models import RateCounter
    from web.core.ratelimit import clean_rate_counters
    from web.core.ttl import CLEANERS

    assert CLEANERS["accounts.codes"] is clean_codes
    services.code_request(email="old@example.com", ip=IP)
    services.code_request(email="new@example.com", ip=IP)
    LoginCode.objects.filter(email="old@example.com").update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert clean_codes(timezone.now()) == 1
    assert list(LoginCode.objects.values_list("email", flat=True)) == ["new@example.com"]
    ratelimit.hit("x", limit=1, window_s=60, now=0)
    before = RateCounter.objects.count()
    assert clean_rate_counters(timezone.now()) == 1
    assert RateCounter.objects.count() == before - 1
