"""Management commands run beside a running stack use that stack's endpoints (issue 15,
reliability 2): `make up` picks free ports, so the defaults (S3 on :8333, NATS on :4222)
are wrong for every command a user types next to it, starting with the runbook's hand backup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.core.testing.stores import KEY as S3_KEY
from web.core.testing.stores import SECRET as S3_SECRET
from web.env import REPO_ROOT
from web.stack.harness import StackRun


def _manage(data_dir: Path, *args: str, extra: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """`manage.py <args>` as a user types it: only HEARTH_DATA_DIR (and offsite) set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.pop("AWS_CA_BUNDLE", None)
    env["HEARTH_DATA_DIR"] = str(data_dir)
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackRun]:
    run = StackRun(tmp_path_factory.mktemp("live"))
    try:
        run.wait_healthy()
        yield run
    finally:
        run.stop()


@pytest.mark.stack
def test_hand_backup_beside_a_default_stack_uses_its_s3(stack: StackRun, s3_server) -> None:  # type: ignore[no-untyped-def]
    """The runbook's `manage.py backup_daily`, with no HEARTH_S3_ENDPOINT in the shell."""
    offsite = {
        "HEARTH_OFFSITE_ENDPOINT": s3_server.endpoint,
        "HEARTH_OFFSITE_ACCESS_KEY": S3_KEY,
        "HEARTH_OFFSITE_SECRET_KEY": S3_SECRET,
        "HEARTH_OFFSITE_BUCKET": f"offsite-{uuid.uuid4().hex[:8]}",
    }
    out = _manage(stack.data_dir, "backup_daily", "--verbosity", "0", extra=offsite)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "backup daily: ok" in out.stdout, out.stdout


@pytest.mark.stack
def test_every_command_sees_the_stack_endpoints(stack: StackRun) -> None:
    """queue (NATS monitor) and status (S3, Litestream) through the one shared override."""
    out = _manage(stack.data_dir, "queue", "stats", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["errors"] == [], out.stdout
    out = _manage(stack.data_dir, "status", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    components = {c["name"]: c["ok"] for c in json.loads(out.stdout)["components"]}
    assert components["s3"] and components["litestream"] and components["nats"], out.stdout
    out = _manage(stack.data_dir, "shell", "-c", _PRINT_ENDPOINTS)
    assert out.returncode == 0, out.stdout + out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    facts = stack.state
    assert seen == {
        "nats_url": facts["nats_url"],
        "nats_monitor_url": facts["nats_monitor_url"],
        "s3_endpoint": facts["s3_endpoint"],
        "litestream_url": facts["litestream_url"],
    }


_PRINT_ENDPOINTS = (
    "import json; from django.conf import settings as s; e = s.ENV; print(json.dumps("
    "{'nats_url': e.nats_url, 'nats_monitor_url': e.nats_monitor_url, "
    "'s3_endpoint': e.s3_endpoint, 'litestream_url': e.litestream_url}))"
)


def _write_state(data_dir: Path, pid: int, *, recorded_dir: Path | None = None) -> None:
    (data_dir / "run").mkdir(parents=True)
    state = {
        "pid": pid,
        "data_dir": str(recorded_dir or data_dir),
        "env": {
            "HEARTH_S3_ENDPOINT": "http://127.0.0.1:1111",
            "HEARTH_NATS_URL": "nats://127.0.0.1:2222",
            "HEARTH_NATS_MONITOR_URL": "http://127.0.0.1:3333",
            "HEARTH_LITESTREAM_URL": "http://127.0.0.1:4444",
        },
    }
    (data_dir / "run" / "stack.json").write_text(json.dumps(state))


@pytest.mark.parametrize(
    ("case", "applies"),
    [("alive", True), ("supervisor gone", False), ("other data dir", False)],
)
def test_stack_env_applies_only_for_a_live_stack_of_this_data_dir(
    settings, tmp_path: Path, case: str, applies: bool
) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from web.stack.live import stack_env

    dead = subprocess.Popen(["true"])
    dead.wait()
    pid = dead.pid if case == "supervisor gone" else os.getpid()
    _write_state(tmp_path, pid, recorded_dir=tmp_path / "x" if case == "other data dir" else None)
    env = dataclasses.replace(settings.ENV, data_dir=tmp_path)
    got = stack_env(env)
    if applies:
        assert (got.s3_endpoint, got.nats_url) == ("http://127.0.0.1:1111", "nats://127.0.0.1:2222")
        assert (got.nats_monitor_url, got.litestream_url) == (
            "http://127.0.0.1:3333",
            "http://127.0.0.1:4444",
        )
    else:
        assert got == env


@pytest.mark.stack
def test_make_up_writes_the_stack_id_to_the_data_dir_and_the_backup_bucket(
    stack: StackRun,
) -> None:
    """What `restore` compares before restoring (reliability 3, web/stack/stackid.py)."""
    import dataclasses

    from django.conf import settings

    from web.core.s3 import local_client
    from web.env import DEV_S3_ACCESS_KEY, DEV_S3_SECRET_KEY
    from web.stack.stackid import ID_FILE, bucket_read

    env = dataclasses.replace(
        settings.ENV,
        s3_endpoint=stack.state["s3_endpoint"],
        s3_access_key=DEV_S3_ACCESS_KEY,
        s3_secret_key=DEV_S3_SECRET_KEY,
    )
    local = (stack.data_dir / ID_FILE).read_text().strip()
    assert len(local) == 32
    assert bucket_read(local_client(env), "backup") == local
