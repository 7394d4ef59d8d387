"""Fixtures for the compatibility tests (issue 16): the clients from npm, one running Hearth
(web + worker on the session's nats-server), a page server for the ``*.test`` sites, and one
headless Chromium, all shared by the whole package."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.compat import clients as npm
from tests.compat import stack
from tests.compat.stack import Hearth, ga4_measurement_id, umami_website_id
from web.core.testing import CHROMIUM_ARGS, CHROMIUM_PATH

PAGES = Path(__file__).resolve().parent / "pages"
# A normal Chrome: Hearth drops "HeadlessChrome" as a bot, by design.
CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
COMPAT_ARGS = [
    *CHROMIUM_ARGS,
    # Plausible's tracker sends nothing while navigator.webdriver is true.
    "--disable-blink-features=AutomationControlled",
    # Plausible and GoatCounter ignore localhost/127.*: the pages live on *.test names.
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]


@pytest.fixture(scope="session")
def clients() -> npm.Clients:
    missing = [tool for tool in ("npm", "node") if shutil.which(tool) is None]
    if missing:
        why = (f"{' and '.join(missing)} not installed: the compatibility tests install the "
               "real clients with npm and run the Node ones with node (make test installs "
               "them: scripts/ensure-node.sh)")  # fmt: skip
        if os.environ.get("CI"):  # in CI a skip would hide issue 16's proof: fail instead
            pytest.fail(why)
        pytest.skip(why)
    return npm.install()


@pytest.fixture(scope="package")
def hearth(
    clients: npm.Clients, nats_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hearth]:
    # (clients first: without npm the package is skipped before any server starts)
    running = stack.start(nats_server, tmp_path_factory.mktemp("compat-hearth"))
    try:
        yield running
    finally:
        stack.stop(running)


class PageServer:
    """Serves the owner's pages on any ``<site>.test`` host, with the client scripts."""

    def __init__(self, clients: npm.Clients, hearth_url: str) -> None:
        self.scripts = {
            "/c/plausible.js": clients.plausible_js,
            "/c/plausible039.js": clients.plausible039_js,
            "/c/umami.js": clients.umami_js,
            "/c/umami3.js": clients.umami3_js,
            "/c/count.js": clients.goatcounter_js,
            "/c/ga4.js": clients.ga4_js,
        }
        self.hearth_url = hearth_url
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, site: str, path: str) -> str:
        return f"http://{stack.domain_of(site)}:{self.port}{path}"

    @property
    def outbound(self) -> str:
        return f"http://elsewhere.test:{self.port}/bye"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, ctype: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.send_header("cache-control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in server.scripts:
                    body = server.scripts[path].read_bytes()
                    return self._send(200, "application/javascript", body)
                if path == "/favicon.ico":
                    return self._send(204, "image/x-icon", b"")
                if path == "/bye":
                    return self._send(200, "text/html", b"<!doctype html><title>bye</title>bye")
                client = path.strip("/").split("/", 1)[0]
                template = PAGES / f"{client}.html"
                if not client or not template.is_file():
                    return self._send(404, "text/plain", b"not found")
                domain = self.headers.get("host", "").rsplit(":", 1)[0]
                html = (
                    template.read_text()
                    .replace("{{DOMAIN}}", domain)
                    .replace("{{HEARTH}}", server.hearth_url)
                    .replace("{{WEBSITE_ID}}", umami_website_id(domain))
                    .replace("{{GA4_ID}}", ga4_measurement_id(domain))
                    .replace("{{OUTBOUND}}", server.outbound)
                )
                return self._send(200, "text/html; charset=utf-8", html.encode())

        return Handler


@pytest.fixture(scope="package")
def pages(clients: npm.Clients, hearth: Hearth) -> Iterator[PageServer]:
    server = PageServer(clients, hearth.url)
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture(scope="package")
def compat_browser(clients: npm.Clients) -> Iterator[Any]:
    """One headless Debian Chromium for the package, launched as the trackers need it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM_PATH, args=COMPAT_ARGS)
        try:
            yield b
        finally:
            b.close()
