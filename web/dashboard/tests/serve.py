"""Run the real ASGI app (web.asgi) under uvicorn against a fresh data dir with seeded
traffic, for the browser tests. ``python -m web.dashboard.tests.serve setup`` (run with the
server's env) migrates, seeds and prints the staff session key as JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from web.core.testing import run_django, run_json, session_key_for
from web.core.testing.server import Server, free_port, server_env  # noqa: F401

SEED_EVENTS = 6000
SEED_DAYS = 7


def setup(env: dict[str, str]) -> dict[str, str]:
    return run_json("-m", "web.dashboard.tests.serve", "setup", env=env, timeout=120)


def _setup_main() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from web.dashboard.models import Funnel
    from web.dashboard.seed import traffic_seed
    from web.dashboard.services import rollups_compact

    call_command("migrate", database="default", verbosity=0)
    call_command("migrate", database="ttl", verbosity=0)
    traffic_seed(site_id=1, events=SEED_EVENTS, days=SEED_DAYS, raw=True, seed=7)
    rollups_compact(site_id=1)
    Funnel.objects.create(site_id=1, name="Signup", steps=["/", "/pricing/", "event:signup"])
    user = get_user_model().objects.create(username="owner", is_staff=True, is_superuser=True)
    print(json.dumps({"staff": session_key_for(user)}))


def start(nats_url: str, data_dir: Path, log: Path) -> tuple[Server, dict[str, str]]:
    env = server_env(nats_url=nats_url, data_dir=data_dir, public=[])
    env.pop("HEARTH_TEST_PUBLIC_CHANNELS", None)
    keys = setup(env)
    server = Server(env=env, log=log).start(app="web.asgi:application")
    return server, keys


def share_key(env: dict[str, str]) -> str:
    """A new public link to site 1 made in the server's data dir; its key."""
    return run_django(
        env, "from web.dashboard.services import public_link_create as c;print(c(site_id=1).key)"
    )


@dataclass
class App:
    """A running seeded dashboard: its URL, the staff session key, the server's env."""

    url: str
    session: str
    env: dict[str, str]


@contextmanager
def running(nats_url: str, root: Path, *, sealed: bool = False) -> Iterator[App]:
    """A seeded dashboard server on ``root``/data for one test module; ``sealed`` first
    moves every event into the columnar history (filtered panels, goals, props and funnels
    read only sealed events)."""
    server, keys = start(nats_url, root / "data", root / "uvicorn.log")
    try:
        if sealed:
            run_django(server.env, "from web.analytics.history import services as hs;"
                                   "print(hs.history_seal_all())")  # fmt: skip
        yield App(server.url, keys["staff"], server.env)
    finally:
        server.stop()


if __name__ == "__main__" and sys.argv[1:] == ["setup"]:
    _setup_main()
