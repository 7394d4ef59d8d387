"""Shared test support: how browser tests start Debian's Chromium through Playwright.

Playwright downloads no browser here; Debian's chromium is installed by `make test`
(scripts/ensure-chromium.sh). Without the background-networking flags Chromium keeps
trying to reach Google's hosts, which this machine's closed network refuses.
"""

from __future__ import annotations

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
