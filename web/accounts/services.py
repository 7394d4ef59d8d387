"""Sign-in by emailed one-time code.

A code is 6 digits: HMAC-SHA256 under a SECRET_KEY-derived key of the email and the instant
it expires (a fresh, unguessable instant per code), so a live code can be sent again without
being stored. Only HMAC(key, email, code) is stored, in ttl.db, one row per email. A code is
valid for 10 minutes, is deleted on first use, and is burnt by the 5th wrong guess.

Asking again while the code is live sends the same code again (at most RESENDS_PER_EMAIL
emails an hour, then silently none: the inbox already holds it); a new code replaces the row
only once the old one was used, burnt or expired. Requests are limited per IP and per
(email, IP), never per email alone, so nobody can use up another person's requests and lock
them out (issue 15, security 6). The answer never says whether an address has an account.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from web.accounts.models import LoginCode, Profile
from web.core import ratelimit

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_FAILURES = 5
# (limit, window seconds)
CODES_PER_EMAIL = (5, 3600)  # code requests per email *and IP*: another IP's requests never count
CODES_PER_IP = (20, 3600)
RESENDS_PER_EMAIL = (5, 3600)  # emails re-sending a live code, all IPs; beyond it none is sent
VERIFY_PER_IP = (30, 600)
# Django admin's password form (wired in web/accounts/admin.py). Per username too, so an
# attack spread over many addresses is slowed; a staff member locked out of the password form
# by someone else can still sign in with an emailed code.
ADMIN_LOGIN_PER_IP = (10, 900)
ADMIN_LOGIN_PER_USERNAME = (10, 900)


class SignInError(Exception):
    """Sign-in refused; `status` is the HTTP status, the message is safe to show."""

    status = 400


class RateLimited(SignInError):
    status = 429


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    local, sep, domain = email.partition("@")
    if not sep or not local or "." not in domain or len(email) > 254 or " " in email:
        raise SignInError("Enter a valid email address.")
    return email


def _digest(email: str, code: str) -> str:
    return salted_hmac("hearth.accounts.code", f"{email}\0{code}", algorithm="sha256").hexdigest()


def _code_for(email: str, expires_at: datetime) -> str:
    """The code of the row that expires at `expires_at` (microseconds, so one per issue)."""
    stamp = expires_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
    mac = salted_hmac("hearth.accounts.code-value", f"{email}\0{stamp}", algorithm="sha256")
    return f"{int(mac.hexdigest(), 16) % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def _signup_open() -> bool:
    return bool(getattr(settings, "ACCOUNTS_OPEN_SIGNUP", True))


def code_request(*, email: str, ip: str) -> str | None:
    """Queue the email with the code of `email`: the live one again, else a new one.

    Returns the code (for tests and the console backend), None when the address may not
    sign in (closed sign-up and no account). Callers must give the same answer either way.
    Raises SignInError for a malformed address and RateLimited when `ip` asked too often
    (in all, or for this address); requests from other IPs never count against it.
    """
    email = normalize_email(email)
    email_hash = hashlib.sha256(email.encode()).hexdigest()[:32]
    ip_ok = ratelimit.hit(f"code-ip:{ip}", limit=CODES_PER_IP[0], window_s=CODES_PER_IP[1])
    pair_ok = ratelimit.hit(
        f"code-email-ip:{email_hash}:{ip}", limit=CODES_PER_EMAIL[0], window_s=CODES_PER_EMAIL[1]
    )
    if not (ip_ok and pair_ok):
        raise RateLimited("Too many sign-in requests. Wait a while and try again.")
    User = get_user_model()
    if not _signup_open() and not User.objects.filter(username=email, is_active=True).exists():
        return None
    now = timezone.now()
    live = LoginCode.objects.filter(
        email=email, expires_at__gt=now, failures__lt=MAX_FAILURES
    ).first()
    if live is not None:
        code = _code_for(email, live.expires_at)
        if hmac.compare_digest(live.code_hmac, _digest(email, code)):
            resend_key = f"code-resend:{email_hash}"
            if ratelimit.hit(resend_key, limit=RESENDS_PER_EMAIL[0], window_s=RESENDS_PER_EMAIL[1]):
                _send_code_email(email, code)
            return code
    # Up to 0.1 s off, from the CSPRNG: the instant the code derives from cannot be
    # predicted from the request time either (the secret key is what protects it).
    expires_at = now + CODE_TTL - timedelta(microseconds=secrets.randbelow(100_000))
    code = _code_for(email, expires_at)
    LoginCode.objects.update_or_create(
        email=email,
        defaults={"code_hmac": _digest(email, code), "expires_at": expires_at, "failures": 0},
    )
    _send_code_email(email, code)
    return code


def _send_code_email(email: str, code: str) -> None:
    payload = {
        "to": email,
        # Body only: a subject shows in notification previews and on lock screens.
        "subject": "Your sign-in code",
        "body": (
            f"Your sign-in code is {code}.\n\nIt works once, for 10 minutes. If you did not "
            "ask for it, ignore this email."
        ),
    }

    def send() -> None:
        from web.messaging.jobs import enqueue

        enqueue("notify.email", payload)

    transaction.on_commit(send, using="ttl")


def admin_login_throttle(*, ip: str, username: str) -> None:
    """Count one admin password attempt for `ip` and for `username` (any case); raise
    RateLimited when either is over its limit in the window. Call it before checking the
    password, so a throttled attempt learns nothing; the message is the same for every
    username, existing or not."""
    ip_ok = ratelimit.hit(
        f"admin-login-ip:{ip}", limit=ADMIN_LOGIN_PER_IP[0], window_s=ADMIN_LOGIN_PER_IP[1]
    )
    name = (username or "").strip().lower()
    user_key = "admin-login-user:" + hashlib.sha256(name.encode()).hexdigest()[:32]
    user_ok = ratelimit.hit(
        user_key, limit=ADMIN_LOGIN_PER_USERNAME[0], window_s=ADMIN_LOGIN_PER_USERNAME[1]
    )
    if not (ip_ok and user_ok):
        raise RateLimited("Too many sign-in attempts. Wait 15 minutes and try again.")


@dataclass(frozen=True)
class SignedIn:
    user: Any
    created: bool


def code_verify(*, email: str, code: str, ip: str) -> SignedIn:
    """Check a code; on success delete it and return the (possibly new) user.

    Raises SignInError (400) for a wrong, expired, burnt or replayed code — one message for
    all, so the answer leaks nothing — and RateLimited (429).
    """
    email = normalize_email(email)
    if not ratelimit.hit(f"verify-ip:{ip}", limit=VERIFY_PER_IP[0], window_s=VERIFY_PER_IP[1]):
        raise RateLimited("Too many attempts. Wait a while and try again.")
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    invalid = SignInError("That code is wrong or has expired. Ask for a new one.")
    row = LoginCode.objects.filter(email=email).first()
    if row is None:
        raise invalid
    if row.expires_at <= timezone.now():
        row.delete()
        raise invalid
    if len(code) != CODE_DIGITS or not hmac.compare_digest(row.code_hmac, _digest(email, code)):
        # F() increment: concurrent wrong guesses cannot both read failures=4.
        LoginCode.objects.filter(pk=row.pk).update(failures=F("failures") + 1)
        LoginCode.objects.filter(pk=row.pk, failures__gte=MAX_FAILURES).delete()
        raise invalid
    # Single use: only the request that deletes the row wins.
    deleted, _ = LoginCode.objects.filter(pk=row.pk, code_hmac=row.code_hmac).delete()
    if not deleted:
        raise invalid
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=email, defaults={"email": email, "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not user.is_active:
        raise invalid
    Profile.objects.get_or_create(user=user)
    return SignedIn(user=user, created=created)


def user_is_staff(user: Any) -> bool:
    """Role staff: admin and analytics."""
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))


def user_is_reader(user: Any) -> bool:
    """Role reader: any signed-in active user; may comment."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def profile_set_name(*, user: Any, display_name: str) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    name = display_name.strip()[:60]
    if name and name != profile.display_name:
        profile.display_name = name
        profile.save(update_fields=["display_name"])
    return profile
