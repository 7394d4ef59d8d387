"""Dashboard-owned tables: API tokens, public links, funnels, a compacted copy of the hourly
rollups for long ranges, and (in ttl.db) the alert dedupe state."""

from __future__ import annotations

import secrets

from django.db import models

from web.analytics.models import RollupCounters, Site


def _new_share_key() -> str:
    return secrets.token_urlsafe(18)


class ApiToken(models.Model):
    """A bearer token for the stats API. Only the SHA-256 of the secret is stored; the secret
    is shown once, when the token is created (admin)."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)  # first chars, to tell tokens apart
    digest = models.CharField(max_length=64, unique=True)  # sha256 hex of the whole token
    sites = models.ManyToManyField(Site, related_name="api_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_per_minute = models.PositiveIntegerField(default=120)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class PublicLink(models.Model):
    """A revocable, read-only public dashboard for one site at /share/<key>/."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="public_links")
    key = models.CharField(max_length=40, unique=True, default=_new_share_key)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.site} /share/{self.key[:6]}…"


class Funnel(models.Model):
    """Ordered steps; each step is a page path (``/x``, ``/blog/*``) or ``event:<name>``."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="funnels")
    name = models.CharField(max_length=100)
    steps = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.name


class PeriodRollup(RollupCounters):
    """Rollup rows summed per UTC day ('d') or month ('m'): derived from analytics_rollup by
    services.rollups_compact, rebuildable at any time. Long ranges read these instead of
    hundreds of thousands of hourly rows (see dashboard.md, "Query plan")."""

    site_id = models.BigIntegerField()
    grain = models.CharField(max_length=1)  # d | m
    start = models.DateField()  # the day, or the first of the month
    dim = models.CharField(max_length=16)
    value = models.CharField(max_length=500)
    sessions = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site_id", "grain", "dim", "start", "value"], name="dashboard_period_key"
            )
        ]


class CompactState(models.Model):
    """Per site: days before ``through`` (exclusive) are compacted into PeriodRollup."""

    site_id = models.BigIntegerField(primary_key=True)
    through = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)


# --- ttl.db --------------------------------------------------------------------------------


class AlertState(models.Model):
    """Dedupe and rate limit of alerts: one row per alert key (kind + subject)."""

    key = models.CharField(max_length=200, primary_key=True)
    first_at = models.FloatField()
    last_sent_at = models.FloatField()
    suppressed = models.IntegerField(default=0)  # raised again within the quiet period
