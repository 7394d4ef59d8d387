"""The running embedded stack of a data dir, and its endpoints for one-off processes.

`make up` picks free ports for NATS, S3 and Litestream (unless HEARTH_*_PORT pins them) and
records them in ``<data dir>/run/stack.json``. A management command run beside it (the
runbook's `backup_daily`, `restore`, `queue`, `status`, `cron_run`) must talk to those
servers, not to the defaults. manage.py calls :func:`use_live_stack` once, before any
command runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from web.env import Env

# stack.json's "env" variable -> Env field. The stack's values win over this shell's: the
# stack ignores HEARTH_S3_ENDPOINT and HEARTH_NATS_URL when it picks its ports, so
# stack.json, not the shell, says where its servers listen.
ENDPOINTS = {
    "HEARTH_NATS_URL": "nats_url",
    "HEARTH_NATS_MONITOR_URL": "nats_monitor_url",
    "HEARTH_S3_ENDPOINT": "s3_endpoint",
    "HEARTH_S3_PUBLIC_URL": "s3_public_url",
    "HEARTH_LITESTREAM_URL": "litestream_url",
}


def state_path(data_dir: Path) -> Path:
    """Where `make up` records its state (web.stack.launch.StackPaths.state)."""
    return data_dir / "run" / "stack.json"


def pid_alive(pid: object) -> bool:
    """True when ``pid`` names a running process (not a zombie)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def live_stack(data_dir: Path) -> dict[str, Any] | None:
    """stack.json of the stack running on ``data_dir``, or None.

    None when there is no stack.json, it is unreadable, it names another data dir, or its
    supervisor process is gone (a kill -9 leaves the file behind).
    """
    try:
        state = json.loads(state_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    recorded = state.get("data_dir")
    if recorded and Path(recorded).resolve() != Path(data_dir).resolve():
        return None
    return state if pid_alive(state.get("pid")) else None


def stack_env(env: Env, state: dict[str, Any] | None = None) -> Env:
    """``env`` with the endpoints of the stack running on env.data_dir, if one runs."""
    state = live_stack(env.data_dir) if state is None else state
    if not state:
        return env
    recorded = state.get("env") or {}
    changes = {field: recorded[var] for var, field in ENDPOINTS.items() if recorded.get(var)}
    return dataclasses.replace(env, **changes) if changes else env


def use_live_stack() -> dict[str, Any] | None:
    """Point settings.ENV at the running stack of its data dir; return its state or None."""
    from django.conf import settings

    state = live_stack(settings.ENV.data_dir)
    if state:
        settings.ENV = stack_env(settings.ENV, state)
    return state
