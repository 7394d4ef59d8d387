"""A running Hearth for the compatibility tests: the web process (gunicorn + uvicorn worker,
as the stack runs it) and the analytics worker on the session's real nats-server, a fresh
data dir with one site per client and scenario, and a Stats API token over all of them.

A beacon therefore goes ingest -> JetStream -> worker -> data.db and is read back through
``/api/v1/...`` exactly as an owner would read it. ``python -m tests.compat.stack setup``
(run with the web process's environment) creates the sites and prints them as JSON.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from web.core.testing import (
    migrate,
    process_env,
    run_django,
    run_json,
    start_process,
    stop_group,
    wait_http,
    wait_until,
)
from web.core.testing.nats import purge_analytics_jobs
from web.env import REPO_ROOT
from web.stack.servers import free_port

BROWSER_CLIENTS = ("plausible", "plausible039", "umami", "umami3", "goatcounter", "ga4")
# The products whose snippets Hearth serves its own tracker behind.
SNIPPET_CLIENTS = ("plausible", "umami", "goatcounter")
SCENARIOS = ("pageview", "spa", "event", "outbound", "utm")
NODE_SITES = ("umami-node", "matomo-node")
# Pages with the product's own snippet, only its host changed: Hearth serves its tracker.
SNIPPET_SITES = tuple(f"{c}-{s}" for c in SNIPPET_CLIENTS for s in ("snippet", "snippetapi"))
# The Matomo idsite of the migrating owner's snippet (an ingest alias of its Hearth site).
MATOMO_IDSITE = "42"


def domain_of(name: str) -> str:
    return f"{name}.test"


def umami_website_id(domain: str) -> str:
    """The Umami website UUID a migrating owner's snippet carries (fixed per domain)."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, domain))


def ga4_measurement_id(domain: str) -> str:
    """The GA4 measurement id a migrating owner's tag carries (fixed per domain)."""
    return "G-" + uuid.uuid5(uuid.NAMESPACE_DNS, domain).hex[:10].upper()


def site_specs() -> list[dict[str, Any]]:
    """One site per (client, scenario), plus the Node clients' sites."""
    specs = []
    names = [f"{c}-{s}" for c in BROWSER_CLIENTS for s in SCENARIOS]
    names += [*NODE_SITES, *SNIPPET_SITES, "plausible-engagement", "plausible-scroll",
              "umami-identify", "umami3-identify"]  # fmt: skip
    for name in names:
        domain = domain_of(name)
        aliases = []
        if name.startswith("umami"):
            aliases.append(umami_website_id(domain))
        if name.startswith("ga4"):
            aliases.append(ga4_measurement_id(domain))
        if name == "matomo-node":
            aliases.append(MATOMO_IDSITE)
        specs.append({"name": name, "domain": domain, "aliases": aliases})
    return specs


def _setup_main() -> None:
    import django

    django.setup()
    from web.analytics.models import Site
    from web.dashboard.services import token_create

    sites = {}
    for spec in site_specs():
        site = Site.objects.create(name=spec["name"], domains=[spec["domain"]],
                                   aliases=spec["aliases"])  # fmt: skip
        sites[spec["name"]] = site.pk
    _, raw = token_create(name="compat", site_ids=list(sites.values()), rate_per_minute=100_000)
    print(json.dumps({"sites": sites, "token": raw}))


@dataclass
class Hearth:
    url: str
    data_dir: Path
    env: dict[str, str]
    sites: dict[str, int]
    token: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sealer: subprocess.Popen[str] | None = None

    def api(self, endpoint: str, site: str, **params: str) -> dict[str, Any]:
        """GET /api/v1/<endpoint> for one site, today; the JSON body (raises on non-200)."""
        r = httpx.get(
            f"{self.url}/api/v1/{endpoint}",
            params={"site_id": str(self.sites[site]), "range": "today", **params},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert r.status_code == 200, (endpoint, params, r.status_code, r.text)
        return r.json()

    def pageviews(self, site: str) -> int:
        return self.api("aggregate", site)["results"]["pageviews"]

    def rows(self, site: str, prop: str, metric: str) -> dict[str, Any]:
        """A breakdown as {value: metric}: ``prop`` is a dimension or ``props:<name>``."""
        got = self.api("breakdown", site, property=prop, limit="100")["results"]
        return {r["value"]: r[metric] for r in got}

    def add_site(self, name: str) -> None:
        """Create a site while Hearth runs (as an owner does in the admin), in the token."""
        code = (
            "from web.analytics.models import Site; from web.dashboard.models import ApiToken;"
            f"s = Site.objects.create(name={name!r}, domains=[{domain_of(name)!r}]);"
            "ApiToken.objects.get(name='compat').sites.add(s); print(s.pk)"
        )
        self.sites[name] = int(run_django(self.env, code))

    def seal(self) -> None:
        """Seal raw events into the history (what cron's ticker does every 15 s): custom
        event properties are read from there. One sealer process serves the whole package
        (a Django start per seal cost 1.3 s, about 20 s a run)."""
        if self.sealer is None:
            self.sealer = subprocess.Popen(
                [sys.executable, "-m", "tests.compat.stack", "sealer"], cwd=REPO_ROOT,
                env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=(self.data_dir / "sealer.log").open("wb"), text=True,
                start_new_session=True,
            )  # fmt: skip
            self.procs.append(self.sealer)  # type: ignore[arg-type]
        assert self.sealer.stdin is not None and self.sealer.stdout is not None
        self.sealer.stdin.write("seal\n")
        self.sealer.stdin.flush()
        while (line := self.sealer.stdout.readline()) != "sealed\n":
            assert line, "the sealer exited: " + (self.data_dir / "sealer.log").read_text()

    def logs(self) -> str:
        parts = []
        for name in ("web.log", "worker.log"):
            text = (self.data_dir / name).read_text(errors="replace")
            parts.append(f"--- {name} (tail)\n{text[-3000:]}")
        return "\n".join(parts)


def wait_for(probe: Callable[[], Any], expected: Any, timeout: float = 15.0) -> Any:
    """Poll ``probe`` until it returns ``expected`` (or time runs out); the last value, for
    the caller's exact assertion (which then shows what arrived and what Hearth answered)."""
    seen: list[Any] = []

    def equal() -> bool:
        seen.append(probe())
        return seen[-1] == expected

    # On a timeout the caller compares seen[-1] itself and says what differs.
    with contextlib.suppress(AssertionError):
        wait_until(equal, timeout=timeout, interval=0.25)
    return seen[-1]


def start(nats_server: Any, data_dir: Path) -> Hearth:
    """Migrate, create the sites, start web + worker; the caller stops them (stop())."""
    port = free_port()
    env = process_env(data_dir, nats=nats_server, port=port, HEARTH_WORKER_FAMILIES="analytics")
    py = sys.executable
    migrate(env)
    made = run_json("-m", "tests.compat.stack", "setup", env=env, timeout=120)
    # Sites exist before the web process starts: its first snapshot has them all.
    gunicorn = str(Path(py).parent / "gunicorn")
    url = f"http://127.0.0.1:{port}"
    hearth = Hearth(url, data_dir, env, made["sites"], made["token"])
    # The session's nats-server is shared: analytics jobs other tests left in the stream
    # would land in this data dir.
    purge_analytics_jobs(nats_server.url)
    hearth.procs.append(start_process(
        [gunicorn, "web.asgi:application",
         "--worker-class", "web.core.gunicorn_worker.HearthUvicornWorker",
         "--workers", "1", "--bind", f"127.0.0.1:{port}"],
        env, data_dir / "web.log",
    ))  # fmt: skip
    worker = start_process([py, "-m", "worker"], env, data_dir / "worker.log")
    hearth.procs.append(worker)
    try:
        wait_http(f"{url}/ingest/t.js", timeout=60, message="the web process")
        wait_until(lambda: worker.poll() is None and "analytics" in
                   (data_dir / "worker.log").read_text(errors="replace"), timeout=60,
                   message="the worker process")  # fmt: skip
    except BaseException:
        stop(hearth)
        raise
    return hearth


def stop(hearth: Hearth) -> None:
    for proc in reversed(hearth.procs):
        stop_group(proc, grace=15)


def _sealer_main() -> None:
    """Seal on each line read from stdin; answer "sealed" when done (see Hearth.seal)."""
    import django

    django.setup()
    from django.db import close_old_connections

    from web.analytics.history import services as hs

    for _ in sys.stdin:
        hs.history_seal_all()
        close_old_connections()
        print("sealed", flush=True)


if __name__ == "__main__" and sys.argv[1:] == ["setup"]:
    _setup_main()
if __name__ == "__main__" and sys.argv[1:] == ["sealer"]:
    _sealer_main()
