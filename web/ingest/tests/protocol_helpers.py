"""Helpers of the protocol tests (test_protocol_*.py): site aliases in the real web
process's database."""

from __future__ import annotations

import json
import sqlite3
import time

from web.ingest.tests.conftest import WebProcess


def add_aliases(web: WebProcess, site_id: int, *aliases: str) -> None:
    """Add ``aliases`` to a site of the test web process (kept with the ones it has; the
    process picks them up on the first miss after this returns, see web/ingest/sites.py)."""
    con = sqlite3.connect(web.data_dir / "data.db")
    try:
        (raw,) = con.execute(
            "SELECT aliases FROM analytics_site WHERE id = ?", (site_id,)
        ).fetchone()
        current = json.loads(raw or "[]")
        merged = current + [a for a in aliases if a not in current]
        con.execute(
            "UPDATE analytics_site SET aliases = ? WHERE id = ?", (json.dumps(merged), site_id)
        )
        con.commit()
    finally:
        con.close()
    # A miss reloads the site table at most once per second per process (sites.py): a test
    # that added an alias less than a second after another one's miss would be refused.
    time.sleep(1.1)
