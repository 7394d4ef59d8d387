"""The one test kit every app's tests share (fixtures live in the root conftest.py).

- here: Chromium for Playwright, environments for child processes (process_env,
  production_env), starting and stopping them (start_process, stop_group), polling
  (wait_until, wait_http), running a kit or Django code in a child process and reading its
  last line (run_kit, run_json, run_django), migrating a test's own data dir (migrate), a
  login session for a user (session_key_for);
- web.core.testing.server: the real ASGI app under uvicorn and a blocking SSE client;
- web.core.testing.nats: a Collector of messages on real core NATS subjects;
- web.core.testing.events: analytics event payloads as ingest publishes them (ev);
- web.core.testing.site: the real site seeded (users, a post with a processed cover image)
  for browser tests against the session's NATS and S3.
- web.core.testing.stores: a SeaweedFS and a Litestream of a test's own (own_s3,
  litestream), with their credentials (KEY, SECRET).

Playwright downloads no browser here; Debian's chromium is installed by `make test`
(scripts/ensure-chromium.sh). Without the background-networking flags Chromium keeps
trying to reach Google's hosts, which this machine's closed network refuses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def launch_chromium(playwright: Any) -> Any:
    """A headless Debian Chromium from a running sync_playwright()."""
    return playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)


def _clean_environ() -> dict[str, str]:
    """This process's environment minus every HEARTH_* variable (nothing from the
    developer's shell leaks in) and minus AWS_CA_BUNDLE (web.core.litestream)."""
    from web.core.litestream import without_ca_bundle

    return {k: v for k, v in without_ca_bundle(os.environ).items() if not k.startswith("HEARTH_")}


def assert_fits(page: Any, name: str) -> None:
    """A Playwright page has no sideways scroll at its viewport width; a full-page screenshot
    goes to test-artifacts/<name>-<width>x<height>.png for a person to look at."""
    from web.env import REPO_ROOT

    artifacts = REPO_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    size = page.viewport_size
    page.screenshot(
        path=str(artifacts / f"{name}-{size['width']}x{size['height']}.png"), full_page=True
    )
    wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], f"{name}: page is {wide[0]} px wide in a {wide[1]} px window"


def process_env(data_dir: Path, *, nats: Any, port: int, **extra: str) -> dict[str, str]:
    """Environment for a Hearth process (web, worker) a test starts on its own data dir.

    Starts from this process's environment minus every HEARTH_* variable (so nothing from the
    developer's shell leaks in) and minus AWS_CA_BUNDLE (Litestream refuses plain-http
    endpoints with it). ``nats`` is the conftest ``nats_server`` fixture object.
    """
    env = _clean_environ()
    env.update(
        DJANGO_SETTINGS_MODULE="web.settings",
        PYTHONUNBUFFERED="1",
        HEARTH_MODE="dev",
        HEARTH_DATA_DIR=str(data_dir),
        HEARTH_PORT=str(port),
        HEARTH_NATS_URL=nats.url,
        HEARTH_NATS_MONITOR_URL=nats.server.monitor_url,
    )
    env.update(extra)
    return env


def start_process(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a Hearth process (gunicorn, the worker) from the repo root with ``env``, its
    output in ``log``, in a session of its own: stop it and its children with stop_group."""
    from web.env import REPO_ROOT

    return subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_group(proc: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    """Stop a process a test started with start_new_session=True, and its children: SIGTERM
    to its process group, SIGKILL after ``grace`` seconds. Does nothing if it has exited."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def production_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a production-mode Hearth child process (no HEARTH_* from this shell):
    fresh strong secrets, one allowed host, the given data dir; ``extra`` adds or overrides."""
    import secrets

    env = _clean_environ()
    env.update(
        HEARTH_MODE="production",
        HEARTH_SECRET_KEY=secrets.token_urlsafe(50),
        HEARTH_ALLOWED_HOSTS="blog.example.org",
        HEARTH_S3_ACCESS_KEY="hearth-prod",
        HEARTH_S3_SECRET_KEY=secrets.token_urlsafe(24),
        HEARTH_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="web.settings",
    )
    env.update(extra)
    return env


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    interval: float = 0.05,
    message: str = "",
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """Poll ``predicate`` until it returns something truthy and return that value.

    The one polling helper for tests: a test waits on the condition it needs, never on a
    fixed sleep. Exceptions from the predicate propagate (a probe may fail fast, e.g. when
    the process it watches exited), except those of the types in ``ignore``, which mean
    "not yet" (a server that does not listen yet). Raises AssertionError naming
    ``message``, the timeout and the last value or ignored error seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            last = predicate()
        except ignore as exc:
            last = exc
        if last and not isinstance(last, BaseException):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {message or predicate!r} (last: {last!r})"
            )
        time.sleep(interval)


def wait_http(url: str, *, timeout: float, message: str = "", probe_timeout: float = 2.0) -> None:
    """Wait until a GET of ``url`` answers 200: a process a test started is serving.

    Connection errors and timeouts mean "not yet" (it does not listen yet); polls every 0.2 s.
    """
    import httpx

    wait_until(
        lambda: httpx.get(url, timeout=probe_timeout).status_code == 200,
        timeout=timeout,
        interval=0.2,
        message=message or f"GET {url}",
        ignore=(httpx.HTTPError,),
    )


def session_key_for(user: Any) -> str:
    """A stored login session for ``user`` (in a kit's child process, after django.setup());
    the key goes into a browser's or client's sessionid cookie."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return str(session.session_key)


def run_python(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python *args`` from the repo root with ``env``, its output captured as text; the
    caller checks the exit code (some tests expect a failure)."""
    from web.env import REPO_ROOT

    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_kit(*args: str, env: dict[str, str], timeout: float = 60) -> str:
    """Run ``python *args`` (a kit module with ``-m``, or code with ``-c``) from the repo
    root with ``env`` and return the last line it printed ("" when it printed nothing).

    Test kits print their answer (often JSON) as their last line, after whatever Django or
    the libraries log. Raises AssertionError with the end of stderr when the kit fails.
    """
    out = run_python(*args, env=env, timeout=timeout)
    assert out.returncode == 0, f"{args[:2]} exited with {out.returncode}:\n{out.stderr[-4000:]}"
    lines = out.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def run_json(*args: str, env: dict[str, str], timeout: float = 60) -> Any:
    """run_kit, with the last line read as JSON."""
    return json.loads(run_kit(*args, env=env, timeout=timeout))


def migrate(env: dict[str, str], *, timeout: float = 180) -> None:
    """``manage.py migrate`` of both databases (data.db, ttl.db) on the data dir ``env``
    names, in a child process, before a test starts Hearth processes on it."""
    for db in ("default", "ttl"):
        run_kit("manage.py", "migrate", "--database", db, "-v", "0", env=env, timeout=timeout)


def run_django(env: dict[str, str], code: str, *, timeout: float = 60) -> str:
    """Run Python ``code`` after django.setup() in a child process (as an admin would, on
    the data dir ``env`` names); the last line it printed."""
    return run_kit("-c", "import django; django.setup();" + code, env=env, timeout=timeout)
