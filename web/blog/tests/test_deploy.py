"""`manage.py check --deploy` is clean in production mode (subprocess, real settings)."""

from __future__ import annotations

import re
from pathlib import Path

from web.core.testing import production_env, run_python

# Known, documented notice owned by web/core (SQLite version risk, ADR-3), not a misconfig.
ALLOWED = {"hearth.W001"}


def test_check_deploy_is_clean_in_production(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    proc = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env, timeout=120
    )
    output = proc.stdout + proc.stderr
    issues = set(re.findall(r"\(([a-z_]+\.[EW]\d+)\)", output))
    assert issues <= ALLOWED, output
    if not issues:
        assert proc.returncode == 0, output
