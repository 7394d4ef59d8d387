"""A job run still open when the replica was written (the daily backup runs while Litestream
replicates) comes back from a restore as "interrupted by restore", not as a failure of the
restored box (issue 15, reliability 8). Real Litestream and SeaweedFS, as in the drill."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from web.backups import restore as services
from web.backups.tests.test_restore_drill import running_box, wait_replicated
from web.jobs.models import JobRun
from web.jobs.services import jobrun_mark_interrupted

JOBRUN_TABLE = (
    "CREATE TABLE backups_jobrun (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, "
    "job varchar(100) NOT NULL, started_at datetime NOT NULL, finished_at datetime NULL, "
    "outcome varchar(300) NOT NULL, counts text NOT NULL, error text NOT NULL, "
    "dry_run bool NOT NULL, trigger varchar(20) NOT NULL)"
)


def test_a_run_open_in_the_backup_is_marked_interrupted_by_restore(
    s3_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with running_box(s3_server, tmp_path / "data") as box:
        box.db.execute(JOBRUN_TABLE)
        with box.db:
            box.db.executemany(
                "INSERT INTO backups_jobrun (job, started_at, finished_at, outcome, counts, "
                "error, dry_run, trigger) VALUES (?, ?, ?, ?, '{}', '', 0, 'cron')",
                [
                    ("backup daily", "2026-12-04 03:00:00", "2026-12-04 03:00:09", "ok"),
                    ("backup daily", "2026-12-05 03:00:00", None, "running"),
                ],
            )
        wait_replicated(box.env)
        result = services.restore_db(env=box.env, output=tmp_path / "restored.db")
    assert result.interrupted_runs == 1
    assert any("interrupted by restore" in line for line in result.lines())
    restored = tmp_path / "restored.db"
    assert not restored.with_name("restored.db-wal").exists()
    con = sqlite3.connect(restored)
    try:
        runs = con.execute(
            "SELECT started_at, outcome, finished_at IS NOT NULL FROM backups_jobrun ORDER BY id"
        ).fetchall()
    finally:
        con.close()
    assert runs == [
        ("2026-12-04 03:00:00", "ok", 1),
        ("2026-12-05 03:00:00", services.RESTORE_INTERRUPTED, 1),
    ]


@pytest.mark.django_db(databases=["default", "ttl"])
def test_a_run_interrupted_by_restore_is_no_failure(settings: Any) -> None:
    """What the restored box then does with it: cron's start leaves it as it is, the alerts
    check does not alert, it is no success either (so the job is caught up)."""
    from web.dashboard import alerts
    from web.jobs.selectors import job_last_success

    settings.DASHBOARD_ALERT_EMAILS = ["ops@example.com"]
    run = JobRun.objects.create(
        job="backup daily",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        outcome=services.RESTORE_INTERRUPTED,
    )
    assert jobrun_mark_interrupted() == 0
    run.refresh_from_db()
    assert run.outcome == services.RESTORE_INTERRUPTED
    assert alerts.alerts_check()["backups"] == 0 and not mail.outbox
    assert job_last_success(job="backup daily") is None


def test_a_file_without_job_runs_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    sqlite3.connect(db).close()
    assert services.jobrun_mark_restored(db=db) == 0
