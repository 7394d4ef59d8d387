"""`manage.py check --deploy` is clean in production mode (subprocess, real settings)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# Known, documented notice owned by web/core (SQLite version risk, ADR-3), not a misconfig.
ALLOWED = {"hearth.W001"}


def test_check_deploy_is_clean_in_production(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.pop("AWS_CA_BUNDLE", None)
    env.update(
        HEARTH_MODE="production",
        HEARTH_SECRET_KEY=secrets.token_urlsafe(50),
        HEARTH_ALLOWED_HOSTS="blog.example.org",
        HEARTH_S3_ACCESS_KEY="hearth-prod",
        HEARTH_S3_SECRET_KEY=secrets.token_urlsafe(24),
        HEARTH_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="web.settings",
    )
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
