"""SQLite connection settings for data.db and ttl.db, and the version risk check.

Pragmas (see ADR-2 and ADR-3 in docs/architecture/overview.md):
- WAL: readers never block the single writer.
- synchronous=NORMAL: a commit is durable once the WAL is fsynced at checkpoint; in WAL mode
  this survives a process crash (kill -9) and only risks the last transactions on power loss.
- busy_timeout=5000 and IMMEDIATE transactions: writers queue for the lock up front instead of
  failing with SQLITE_BUSY half-way through a transaction.
- foreign_keys=ON: SQLite's default is off.
- data.db: wal_autocheckpoint=0, because Litestream is its only checkpointer. SQLite < 3.51.3
  can reset the WAL wrongly when two connections checkpoint at once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

WAL_RESET_FIXED = (3, 51, 3)

_BASE_PRAGMAS = (
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA busy_timeout=5000;"
    "PRAGMA foreign_keys=ON;"
)


def database_settings(path: Path, *, app_checkpoints: bool) -> dict[str, Any]:
    """Django DATABASES entry for one SQLite file with Hearth's pragmas."""
    init = _BASE_PRAGMAS
    if not app_checkpoints:
        init += "PRAGMA wal_autocheckpoint=0;"
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 5, "init_command": init},
    }


def version_risk() -> tuple[str, str | None]:
    """The SQLite library version, and the known risk it carries (None when there is none)."""
    version = sqlite3.sqlite_version
    parts = tuple(int(p) for p in version.split("."))
    if parts < WAL_RESET_FIXED:
        return version, (
            f"SQLite {version} has the WAL-reset bug fixed in 3.51.3: two connections "
            "checkpointing at once can corrupt the database. Hearth disables app checkpoints "
            "on data.db so that Litestream is the only checkpointer (ADR-3)."
        )
    return version, None


def version_note() -> str | None:
    """The plain-words note `make up` prints once when the SQLite library is old; None when it
    is not. The detail stays in `make status` and `manage.py check --deploy` (hearth.W001)."""
    version, risk = version_risk()
    if risk is None:
        return None
    return (
        f"Note: Python's SQLite library here is {version}. Versions before 3.51.3 can, rarely, "
        "damage a database when two connections checkpoint it at the same moment. Hearth "
        "prevents that: only Litestream checkpoints data.db. Nothing to do; running Python "
        "with SQLite 3.51.3 or newer removes this note. Details: make status."
    )
