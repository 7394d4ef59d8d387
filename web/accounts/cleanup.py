"""ttl.db cleaners for the daily `ttl cleanup` cron job (web/core/ttl.py registry)."""

from __future__ import annotations

from datetime import datetime

from web.accounts.models import LoginCode


def clean_codes(now: datetime) -> int:
    """Expired one-time codes (a used or burnt code is already gone)."""
    deleted, _ = LoginCode.objects.filter(expires_at__lt=now).delete()
    return deleted
