"""Server-side clients from npm, unmodified, run with ``node`` against a running Hearth
(issue 16, "Tests"): ``@umami/node`` (a pageview and an event with data) and Matomo's
``matomo-tracker`` (a pageview and an event). Only the host the owner configured changes;
the outcome is read back through the Stats API and compared exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.compat.clients import Clients
from tests.compat.conftest import CHROME_UA
from tests.compat.stack import MATOMO_IDSITE, Hearth, domain_of, umami_website_id, wait_for

NODE_DIR = Path(__file__).resolve().parent / "node"
# How a Matomo event (e_c=Video, e_a=Play, e_n=Intro, e_v=3) reads in Hearth: the action is
# the event's name, the category, name and value are its properties.
MATOMO_EVENT = "Play"
MATOMO_PROPS = {"category": {"Video": 1}, "name": {"Intro": 1}, "value": {"3": 1}}


def _node(clients: Clients, script: str, env: dict[str, str]) -> str:
    # Next to node_modules, so that the script's imports resolve to the pinned packages.
    target = clients.root / script
    shutil.copy(NODE_DIR / script, target)
    out = subprocess.run(["node", str(target)], env={"PATH": _path(), **env},
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def _path() -> str:
    import os

    return os.environ.get("PATH", "/usr/bin:/bin")


def _check(hearth: Hearth, site: str, what: str, probe: object, expected: object, log: str) -> None:
    got = wait_for(probe, expected)  # type: ignore[arg-type]
    assert got == expected, f"{site}: {what}: got {got!r}, expected {expected!r}\n{log}"


def test_umami_node_pageview_and_event(clients: Clients, hearth: Hearth) -> None:
    site = "umami-node"
    domain = domain_of(site)
    answers = _node(clients, "umami.mjs", {
        "HEARTH_URL": hearth.url, "WEBSITE_ID": umami_website_id(domain),
        "PAGE_HOST": domain, "USER_AGENT": CHROME_UA,
    })  # fmt: skip
    log = f"@umami/node {clients.version('@umami/node')}: Hearth answered {answers}"
    # The client does not look at the status; any 2xx is an accepted beacon.
    assert [a["status"] // 100 for a in json.loads(answers)] == [2, 2], log
    h = hearth
    _check(h, site, "pages", lambda: h.rows(site, "page", "pageviews"), {"/node/pricing": 1}, log)
    _check(h, site, "pageviews", lambda: h.pageviews(site), 1, log)
    _check(h, site, "utm_source", lambda: h.rows(site, "utm_source", "visitors"),
           {"newsletter": 1}, log)  # fmt: skip
    _check(h, site, "utm_campaign", lambda: h.rows(site, "utm_campaign", "visitors"),
           {"winter": 1}, log)  # fmt: skip
    _check(h, site, "events", lambda: h.rows(site, "event", "events"), {"Signup": 1}, log)
    h.seal()
    for name, want in (("plan", {"pro": 1}), ("seats", {"3": 1})):
        _check(h, site, f"props:{name}", lambda n=name: h.rows(site, f"props:{n}", "events"),
               want, log)  # fmt: skip


def test_matomo_tracker_pageview_and_event(clients: Clients, hearth: Hearth) -> None:
    site = "matomo-node"
    domain = domain_of(site)
    out = _node(clients, "matomo.cjs", {
        "HEARTH_URL": hearth.url, "IDSITE": MATOMO_IDSITE, "PAGE_HOST": domain,
        "USER_AGENT": CHROME_UA,
    })  # fmt: skip
    log = f"matomo-tracker {clients.version('matomo-tracker')}: {out}\n{hearth.logs()}"
    h = hearth
    _check(h, site, "pages", lambda: h.rows(site, "page", "pageviews"), {"/node/docs": 1}, log)
    _check(h, site, "pageviews", lambda: h.pageviews(site), 1, log)
    _check(h, site, "utm_source", lambda: h.rows(site, "utm_source", "visitors"),
           {"newsletter": 1}, log)  # fmt: skip
    _check(h, site, "utm_campaign", lambda: h.rows(site, "utm_campaign", "visitors"),
           {"winter": 1}, log)  # fmt: skip
    _check(h, site, "events", lambda: h.rows(site, "event", "events"), {MATOMO_EVENT: 1}, log)
    h.seal()
    for name, want in MATOMO_PROPS.items():
        _check(h, site, f"props:{name}", lambda n=name: h.rows(site, f"props:{n}", "events"),
               want, log)  # fmt: skip
    # The client reports any answer but 200, 204 or a redirect as an error (as Matomo answers).
    assert json.loads(out) == {"errors": []}, log
