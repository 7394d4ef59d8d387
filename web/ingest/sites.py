"""Sites as the request path sees them: an in-process snapshot, refreshed in the background.

Known sites never cost a database query (ADR-11): each web process keeps every Site row
(id, public key, domains, aliases) in dicts and reloads the whole table in a thread when
the snapshot is older than ``ttl`` seconds, while requests keep using the previous one.

A miss (a key or domain the snapshot does not know) must not be refused on stale data: a
site saved a moment ago would lose its first visits (issue 16, item 1). So a miss waits
for a fresh load (``reload_on_miss``) and the lookup runs again. Misses share one load,
and at most one miss-triggered load starts per ``miss_interval`` seconds (later misses
wait for the next one), so a flood of unknown keys costs at most one query a second per
process.
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
    aliases: tuple[str, ...] = ()

    def allows_host(self, host: str) -> bool:
        """Same rule as Site.allows_host: a listed domain or a subdomain of one."""
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)


def alias_key(value: str) -> str:
    """How aliases are compared: trimmed and case-insensitive."""
    return value.strip().lower()


class Snapshot:
    """Lookup tables over all sites: by public key or id, by domain, and by alias.

    ``find(how, value)`` is the contract every wire format relies on:

    - ``("key", v)``: the public key or the numeric site id, else an alias;
    - ``("host", v)``: a domain, walking up subdomains, else an exact alias;
    - ``("alias", v)``: an alias first, else the public key or site id.

    A site found by an alias still gets only the hits whose host passes its domains.
    """

    def __init__(self, sites: Iterable[SiteInfo]) -> None:
        self.by_key: dict[str, SiteInfo] = {}
        self.by_domain: dict[str, SiteInfo] = {}
        self.by_alias: dict[str, SiteInfo] = {}
        for site in sites:
            self.by_key[site.key] = site
            self.by_key[str(site.id)] = site
            for domain in site.domains:
                self.by_domain.setdefault(domain, site)
            for alias in site.aliases:
                self.by_alias.setdefault(alias_key(alias), site)

    def find(self, how: str, value: str) -> SiteInfo | None:
        if how == "key":
            return self.by_key.get(value) or self.by_alias.get(alias_key(value))
        if how == "alias":
            return self.by_alias.get(alias_key(value)) or self.by_key.get(value.strip())
        host = value.lower().rstrip(".")
        while host:  # a.b.example.com, b.example.com, example.com, com
            site = self.by_domain.get(host)
            if site is not None:
                return site
            _, _, host = host.partition(".")
        return self.by_alias.get(alias_key(value))


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
                aliases=tuple(str(a) for a in aliases or () if str(a).strip()),
            )
            for pk, key, domains, aliases in Site.objects.values_list(
                "id", "public_key", "domains", "aliases"
            )
        ]
    finally:
        close_old_connections()


class SiteCache:
    """A Snapshot with a TTL; ``get()`` returns at once unless nothing was ever loaded.

    ``loaded_at`` is when the load that made the snapshot *started*: the rows it holds are
    at least that fresh.
    """

    def __init__(
        self,
        loader: Callable[[], list[SiteInfo]] = load_sites,
        ttl: float = 10.0,
        miss_interval: float = 1.0,
    ) -> None:
        self.loader = loader
        self.ttl = ttl
        self.miss_interval = miss_interval
        self.snapshot: Snapshot | None = None
        self.loaded_at = 0.0
        self.loads = 0  # completed loads (tests and the admin's diagnostics)
        self._refresh: asyncio.Task[None] | None = None
        self._next: asyncio.Task[None] | None = None  # the next miss-load, when waiting
        self._miss_started = -1e18

    def load_now(self) -> Snapshot:
        """Load synchronously (startup, tests)."""
        started = time.monotonic()
        self.snapshot = Snapshot(self.loader())
        self.loaded_at = started
        self.loads += 1
        return self.snapshot

    async def _reload(self) -> None:
        started = time.monotonic()
        try:
            sites = await asyncio.to_thread(self.loader)
        except Exception:  # keep serving the old snapshot; the next request retries
            log.exception("ingest: reloading sites failed; keeping the previous snapshot")
            self.loaded_at = time.monotonic() - self.ttl + 1.0
            return
        if started >= self.loaded_at:  # an older load finishing late must not win
            self.snapshot = Snapshot(sites)
            self.loaded_at = started
            self.loads += 1

    def _start_reload(self) -> asyncio.Task[None]:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.get_running_loop().create_task(self._reload())
        return self._refresh

    async def get(self) -> Snapshot:
        if self.snapshot is None:
            await asyncio.shield(self._start_reload())  # first requests share one load
            if self.snapshot is None:
                raise SitesUnavailable("sites could not be loaded yet; retry later", status=503)
            return self.snapshot
        if time.monotonic() - self.loaded_at > self.ttl:
            self._start_reload()
        return self.snapshot

    async def reload_on_miss(self) -> Snapshot:
        """A freshly loaded snapshot to look a miss up again in (the same one if loading
        failed).

        Joins a load already running. Else starts one at once if the snapshot is older
        than the TTL (never refuse on data that old) or the last miss-load started over
        ``miss_interval`` ago; otherwise waits for the next load allowed, shared by every
        miss until then. So a site saved a moment ago is found by its first beacon, and a
        flood of unknown keys costs at most one load per ``miss_interval`` (each such
        request waits up to that long; MAX_OPEN_PER_IP caps what one client holds).
        """
        now = time.monotonic()
        if self._refresh is not None and not self._refresh.done():
            await asyncio.shield(self._refresh)  # a cancelled request keeps the load going
            return self.snapshot  # type: ignore[return-value]
        wait = self._miss_started + self.miss_interval - now
        if wait > 0 and now - self.loaded_at <= self.ttl:
            if self._next is None or self._next.done():
                self._next = asyncio.get_running_loop().create_task(self._reload_after(wait))
            await asyncio.shield(self._next)
            return self.snapshot  # type: ignore[return-value]
        self._miss_started = now
        await asyncio.shield(self._start_reload())
        return self.snapshot  # type: ignore[return-value]

    async def _reload_after(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self._miss_started = time.monotonic()
        await self._start_reload()
