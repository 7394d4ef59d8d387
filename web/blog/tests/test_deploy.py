"""`manage.py check --deploy` is clean in production mode (subprocess, real settings)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from web.core.testing import production_env

REPO = Path(__file__).resolve().parents[3]
# Known, documented notice owned by web/core (SQLite version risk, ADR-3), not a misconfig.
ALLOWED = {"hearth.W001"}


def test_check_deploy_is_clean_in_production(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = proc.stdout + proc.stderr
    issues = set(re.findall(r"\(([a-z_]+\.[EW]\d+)\)", output))
    assert issues <= ALLOWED, output
    if not issues:
        assert proc.returncode == 0, output
