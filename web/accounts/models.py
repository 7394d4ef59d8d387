"""Accounts: reader profiles (data.db); one-time codes and rate counters (ttl.db).

Users are django.contrib.auth users keyed by email (username = normalised email). Roles:
staff = `is_staff` (admin and analytics), reader = any other active user (may comment).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=60, blank=True)
    trusted = models.BooleanField(
        default=False, help_text="Comments by trusted readers skip the moderation queue."
    )

    def __str__(self) -> str:
        return self.display_name or f"reader {self.user_id}"


class LoginCode(models.Model):
    """The one live sign-in code of an email (ttl.db). A new code replaces the row."""

    email = models.CharField(max_length=254, unique=True)
    code_hmac = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)
    failures = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"code for {self.email}"
