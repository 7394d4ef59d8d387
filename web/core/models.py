"""Tables shared by every app; today only the rate-limit counter (ttl.db)."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """A fixed-window counter (ttl.db), bumped with one UPSERT; see web/core/ratelimit.py."""

    key = models.CharField(max_length=200, primary_key=True)
    window_start = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)
    expires_at = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return self.key
