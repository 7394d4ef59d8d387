"""End to end on real processes: headless Chromium opens a page of the Hearth site, the
tracker sends beacons to the web process (gunicorn + uvicorn, as the stack runs it), ingest
publishes analytics.events packs to the session's real nats-server, the real worker process
(`python -m worker`) runs our batch handler, and the rows land in data.db."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from web.core.testing import (
    launch_chromium,
    migrate,
    process_env,
    start_process,
    stop_group,
    wait_http,
    wait_until,
)
from web.core.testing.nats import purge_analytics_jobs
from web.stack.servers import free_port

pytestmark = pytest.mark.browser

# Headless Chromium announces itself as HeadlessChrome, which ingest drops as a bot.
CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@dataclass
class Stack:
    url: str
    data_dir: Path

    def query(self, sql: str, *args: object) -> list[tuple]:
        db = sqlite3.connect(f"file:{self.data_dir / 'data.db'}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def wait(self, sql: str, *args: object, timeout: float = 30) -> list[tuple]:
        rows: list[tuple] = []

        def probe() -> bool:
            nonlocal rows
            try:
                rows = self.query(sql, *args)
            except sqlite3.OperationalError:
                return False
            return bool(rows)

        wait_until(probe, timeout=timeout, interval=0.2, message=sql, ignore=(Exception,))
        return rows


def _stop(proc: subprocess.Popen[bytes]) -> None:
    stop_group(proc, grace=15)


@pytest.fixture(scope="module")
def stack(nats_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("analytics-e2e")
    port = free_port()
    env = process_env(data_dir, nats=nats_server, port=port, HEARTH_WORKER_FAMILIES="analytics")
    py = sys.executable
    migrate(env)
    gunicorn = str(Path(py).parent / "gunicorn")
    web = start_process(
        [gunicorn, "web.asgi:application",
         "--worker-class", "web.core.gunicorn_worker.HearthUvicornWorker",
         "--workers", "1", "--bind", f"127.0.0.1:{port}"],
        env, data_dir / "web.log",
    )  # fmt: skip
    # The session's nats-server is shared: analytics jobs that earlier tests left in the
    # stream would land in this data dir and skew the exact counts asserted below.
    purge_analytics_jobs(nats_server.url)
    worker = start_process([py, "-m", "worker"], env, data_dir / "worker.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/ingest/t.js", timeout=60, message="web process")
        wait_until(lambda: worker.poll() is None and "analytics" in
                   (data_dir / "worker.log").read_text(errors="replace"), timeout=60,
                   interval=0.2, message="worker process", ignore=(Exception,))  # fmt: skip
        yield Stack(url, data_dir)
    finally:
        _stop(worker)
        _stop(web)


def test_tracker_pageview_event_and_error_land_in_rollups_and_issues(stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            ctx = browser.new_context(user_agent=CHROME_UA)
            page = ctx.new_page()
            resp = page.goto(f"{stack.url}/")  # the Hearth site's home page (blog)
            assert resp is not None and resp.status == 200
            page.wait_for_function("typeof window.hearth === 'function'", timeout=10_000)
            page.evaluate("window.hearth('E2E Signup', {props: {plan: 'pro'}})")
            page.evaluate("setTimeout(function () { e2eMissing.explode() })")
            page.wait_for_timeout(300)
            ctx.close()
        finally:
            browser.close()

    pv = stack.wait(
        "SELECT SUM(pageviews), SUM(visitors_day) FROM analytics_rollup "
        "WHERE site_id=1 AND dim='page' AND value='/' HAVING SUM(pageviews) > 0"
    )
    assert pv[0][0] >= 1 and pv[0][1] >= 1
    ev = stack.wait(
        "SELECT events, visitors FROM analytics_rollup "
        "WHERE site_id=1 AND dim='event' AND value='E2E Signup'"
    )
    assert ev == [(1, 1)]
    issue = stack.wait(
        "SELECT kind, type, message, count, sessions, status FROM analytics_issue "
        "WHERE site_id=1 AND message LIKE '%e2eMissing%'"
    )
    kind, type_, message, count, sessions, status = issue[0]
    assert (kind, type_, count, sessions, status) == ("js", "ReferenceError", 1, 1, "open")
    assert "e2eMissing is not defined" in message
    # One visit holds all three; the browser family is parsed from the UA.
    graph = stack.wait(
        "SELECT SUM(started), SUM(pageviews), SUM(events), SUM(errors) "
        "FROM analytics_sessionshourly WHERE site_id=1 HAVING SUM(errors) > 0"
    )
    assert graph[0][0] == 1 and graph[0][1] >= 1 and graph[0][2] == 1 and graph[0][3] == 1
    assert stack.query("SELECT browser FROM analytics_session") == [("Chrome",)]
    # The raw events carry no IP (the page's own host is 127.0.0.1 too here: skip that).
    cols = [c[1] for c in stack.query("PRAGMA table_info(analytics_event)")]
    rows = stack.query("SELECT * FROM analytics_event")
    assert len(rows) >= 3
    leaked = [(c, v) for row in rows for c, v in zip(cols, row, strict=True)
              if c != "hostname" and "127.0.0.1" in str(v)]  # fmt: skip
    assert leaked == []
