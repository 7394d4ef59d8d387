"""Sites as the request path sees them: an in-process snapshot, refreshed in the background.

The request path must not touch the database (ADR-I2), so each web process keeps every
Site row (id, public key, domains) in a dict and reloads the whole table every ``ttl``
seconds in a thread, while requests keep using the previous snapshot. A new site or domain
is therefore seen by ingest within ``ttl`` seconds (10 s by default).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from web.ingest.errors import IngestError

log = logging.getLogger(__name__)


class SitesUnavailable(IngestError):
    """No snapshot could be loaded (database missing at startup): 503, retry later."""


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: int
    key: str
    domains: tuple[str, ...]

    def allows_host(self, host: str) -> bool:
        """Same rule as Site.allows_host: a listed domain or a subdomain of one."""
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)


class Snapshot:
    """Lookup tables over all sites: by public key or id, and by domain."""

    def __init__(self, sites: Iterable[SiteInfo]) -> None:
        self.by_key: dict[str, SiteInfo] = {}
        self.by_domain: dict[str, SiteInfo] = {}
        for site in sites:
            self.by_key[site.key] = site
            self.by_key[str(site.id)] = site
            for domain in site.domains:
                self.by_domain.setdefault(domain, site)

    def find(self, how: str, value: str) -> SiteInfo | None:
        if how == "key":
            return self.by_key.get(value)
        host = value.lower().rstrip(".")
        while host:  # a.b.example.com, b.example.com, example.com, com
            site = self.by_domain.get(host)
            if site is not None:
                return site
            _, _, host = host.partition(".")
        return None


def load_sites() -> list[SiteInfo]:
    """Read the Site table (sync; run in a thread from async code)."""
    from django.db import close_old_connections

    from web.analytics.models import Site

    try:
        return [
            SiteInfo(
                id=pk,
                key=key,
                domains=tuple(str(d).lower().rstrip(".") for d in domains or () if d),
            )
            for pk, key, domains in Site.objects.values_list("id", "public_key", "domains")
        ]
    finally:
        close_old_connections()


class SiteCache:
    """A Snapshot with a TTL; ``get()`` returns at once unless nothing was ever loaded."""

    def __init__(self, loader: Callable[[], list[SiteInfo]] = load_sites, ttl: float = 10.0):
        self.loader = loader
        self.ttl = ttl
        self.snapshot: Snapshot | None = None
        self.loaded_at = 0.0
        self._refresh: asyncio.Task[None] | None = None

    def load_now(self) -> Snapshot:
        """Load synchronously (startup, tests)."""
        self.snapshot = Snapshot(self.loader())
        self.loaded_at = time.monotonic()
        return self.snapshot

    async def _reload(self) -> None:
        try:
            sites = await asyncio.to_thread(self.loader)
        except Exception:  # keep serving the old snapshot; the next request retries
            log.exception("ingest: reloading sites failed; keeping the previous snapshot")
            self.loaded_at = time.monotonic() - self.ttl + 1.0
            return
        self.snapshot = Snapshot(sites)
        self.loaded_at = time.monotonic()

    async def get(self) -> Snapshot:
        if self.snapshot is None:
            await self._reload()
            if self.snapshot is None:
                raise SitesUnavailable("sites could not be loaded yet; retry later", status=503)
            return self.snapshot
        if time.monotonic() - self.loaded_at > self.ttl and (
            self._refresh is None or self._refresh.done()
        ):
            self._refresh = asyncio.get_running_loop().create_task(self._reload())
        return self.snapshot
