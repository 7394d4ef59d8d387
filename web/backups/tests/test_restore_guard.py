"""`restore` never restores another stack's database (issue 15, reliability 3).

All dev stacks share S3 credentials, so a server answering on HEARTH_S3_ENDPOINT's port
proves nothing. Here "another stack" is a real box (its own SeaweedFS and Litestream, the
restore drill's) holding a replica of its own data.db; "this box" is a data dir pointed at
the same endpoint, as when two stacks ran on one machine.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.backups.tests.support import child_env
from web.backups.tests.test_restore_drill import Box, running_box, wait_replicated
from web.core.s3 import local_client
from web.env import REPO_ROOT
from web.stack.stackid import ID_FILE, ID_KEY


@pytest.fixture(scope="module")
def other(s3_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:  # type: ignore[no-untyped-def]
    """Another stack's box, replicating a data.db with 20 posts of its own."""
    with running_box(s3_server, tmp_path_factory.mktemp("other") / "data") as box:
        box.write_posts([f"not yours {i}" for i in range(20)])
        wait_replicated(box.env)
        yield box


def _restore(other: Box, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`manage.py restore <args>` for ``data_dir`` with HEARTH_S3_ENDPOINT = other's S3."""
    env = child_env(dataclasses.replace(other.env, data_dir=data_dir))
    return subprocess.run(
        [sys.executable, "manage.py", "restore", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _set_bucket_id(other: Box, stack_id: str) -> None:
    local_client(other.env).put_object(Bucket="backup", Key=ID_KEY, Body=stack_id.encode())


def test_start_s3_refuses_a_taken_port(other: Box, tmp_path: Path) -> None:
    """Before: weed could not bind the port, the probe passed against the other stack's
    server, and its data.db was restored here."""
    mine = tmp_path / "mine"
    mine.mkdir()
    out = _restore(other, mine, "db", "--start-s3")
    assert out.returncode != 0, out.stdout + out.stderr
    port = other.env.s3_endpoint.rsplit(":", 1)[1]
    assert f"port {port} of HEARTH_S3_ENDPOINT" in out.stderr, out.stderr
    assert "is taken" in out.stderr, out.stderr
    assert not (mine / "data.db").exists()
    assert not (mine / "s3").exists()  # no weed was started on this data dir


def test_restore_refuses_a_bucket_of_another_stack_id(other: Box, tmp_path: Path) -> None:
    """Without --start-s3 (the S3 server already runs), the stack id decides."""
    _set_bucket_id(other, "other-stack")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / ID_FILE).write_text("my-stack\n")
    out = _restore(other, mine, "db")
    assert out.returncode != 0, out.stdout + out.stderr
    assert "holds another Hearth's backups" in out.stderr, out.stderr
    assert "other-stack" in out.stderr and "my-stack" in out.stderr, out.stderr
    assert not (mine / "data.db").exists()


def test_a_new_box_without_an_id_takes_the_buckets(other: Box, tmp_path: Path) -> None:
    """Scenario 3 (data dir lost): the id comes back with the objects and is adopted."""
    _set_bucket_id(other, "the-box")
    mine = tmp_path / "mine"
    mine.mkdir()
    out = _restore(other, mine, "db")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "taken from the backup bucket" in out.stdout, out.stdout
    assert (mine / ID_FILE).read_text().strip() == "the-box"
    out = _restore(other, mine, "db", "--dry-run")  # now the ids match
    assert out.returncode == 0, out.stdout + out.stderr
    assert "the backup bucket belongs to this data dir" in out.stdout, out.stdout
