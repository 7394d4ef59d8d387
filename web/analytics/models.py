"""Analytics data in data.db. Dashboards read rollups, never raw events."""

from __future__ import annotations

import secrets

from django.db import models


def _new_public_key() -> str:
    return secrets.token_urlsafe(12)


class Site(models.Model):
    """A tracked property. The Hearth blog itself is site 1 (created by a data migration)."""

    name = models.CharField(max_length=200)
    domains = models.JSONField(
        default=list, help_text="Host names allowed to send events, e.g. ['example.com']."
    )
    public_key = models.CharField(max_length=40, unique=True, default=_new_public_key)
    timezone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def allows_host(self, host: str) -> bool:
        """True when host is one of the domains or a subdomain of one."""
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)
