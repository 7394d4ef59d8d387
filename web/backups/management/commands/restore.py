"""`manage.py restore db|objects|box`: the runbook's commands (docs/architecture/restore.md)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from web.backups import restore as services
from web.backups.errors import BackupsError
from web.backups.manifest import TIERS
from web.stack.servers import ServerError
from web.stack.stackid import StackIdError, stack_id_verify


class Command(BaseCommand):
    # System checks may open data.db, which would create an empty file where the restore
    # is about to put the real one.
    requires_system_checks: list[str] = []
    help = (
        "Restore Hearth: `db` from the Litestream replica (latest or --timestamp), "
        "`objects` from an offsite tier, `box` = objects from a tier, then db from them; "
        "`history` = the analytics history's segments from the backup bucket (db and box "
        "do it too)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("what", choices=["db", "objects", "box", "history"])
        parser.add_argument("--tier", choices=TIERS, help="offsite tier (objects, box)")
        parser.add_argument(
            "--timestamp", help="db: point in time, RFC 3339 UTC, e.g. 2026-11-22T17:00:00Z"
        )
        parser.add_argument("--output", type=Path, help="db: restore to this path instead")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace an existing data.db (kept as *.before-restore-*), or use a tier "
            "whose last update was interrupted",
        )
        parser.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
        parser.add_argument(
            "--start-s3",
            action="store_true",
            help="start the box's S3 server (data dir/s3) for the restore, for a stopped box",
        )
        parser.add_argument("--workers", type=int, default=services.WORKERS)

    def handle(self, *args: Any, **o: Any) -> None:
        what = o["what"]
        if what in {"objects", "box"} and not o["tier"]:
            raise CommandError(f"restore {what} needs --tier ({', '.join(TIERS)})")
        if what != "db" and (o["timestamp"] or o["output"]):
            raise CommandError("--timestamp and --output apply to `restore db` only")
        env = settings.ENV
        start = time.monotonic()
        progress = o["verbosity"] >= 1
        try:
            with self._s3(env, o["start_s3"]):
                # Never write into, or restore from, another data dir's store (ADR: stack id).
                self._check_owner(env, o["dry_run"])
                if what in {"objects", "box"}:
                    summary = services.restore_objects(
                        env=env,
                        tier=o["tier"],
                        dry_run=o["dry_run"],
                        progress=progress,
                        force=o["force"],
                        workers=o["workers"],
                    )
                    self.stdout.write(
                        f"tier {o['tier']}/ taken at {summary.taken_at}: "
                        f"{summary.objects} objects in its manifest"
                    )
                    verb = "would restore" if o["dry_run"] else "restored"
                    self.stdout.write(
                        f"objects from offsite {env.offsite_bucket}/{o['tier']}/: {verb} "
                        f"{summary.copied} ({summary.copied_bytes} bytes), already present "
                        f"{summary.skipped}, all checksums verified against the manifest"
                        if not o["dry_run"]
                        else f"objects from {o['tier']}/: {verb} {summary.copied} "
                        f"({summary.copied_bytes} bytes), already present {summary.skipped}"
                    )
                if what in {"db", "box"}:
                    if what == "box" and o["dry_run"]:
                        self.stdout.write("dry run: would then restore data.db from the replica")
                    else:
                        if what == "box":  # the objects just restored carry the stack id
                            self._check_owner(env, o["dry_run"])
                        result = services.restore_db(
                            env=env,
                            timestamp=o["timestamp"],
                            output=o["output"],
                            force=o["force"],
                            dry_run=o["dry_run"],
                        )
                        for line in result.lines():
                            self.stdout.write(line)
                        if not o["output"] and not o["dry_run"]:
                            self._history(env)
                if what == "history":
                    self._history(env)
        except (BackupsError, StackIdError, ServerError) as exc:
            raise CommandError(str(exc)) from exc
        took = time.monotonic() - start
        self.stdout.write(
            f"restore {what}: {'dry run ' if o['dry_run'] else ''}done in {took:.1f}s"
        )

    def _check_owner(self, env: Any, dry_run: bool) -> None:
        """Refuse a backup bucket whose stack id is not this data dir's (a data dir with no
        id yet, a new box, takes the bucket's)."""
        from web.core.s3 import local_client

        try:
            line = stack_id_verify(
                data_dir=env.data_dir,
                client=local_client(env, fast_fail=True),
                bucket=env.bucket_backup,
                endpoint=env.s3_endpoint,
                adopt=not dry_run,
            )
        except (ClientError, BotoCoreError) as exc:
            raise CommandError(
                f"cannot read the stack id from {env.s3_endpoint} bucket "
                f"{env.bucket_backup!r}: {exc}"
            ) from exc
        self.stdout.write(line)

    def _history(self, env: Any) -> None:
        """Bring back the columnar history's segments named by the restored catalog."""
        import sqlite3

        from web.analytics.history.services import history_restore
        from web.core.s3 import local_client

        con = sqlite3.connect(env.data_db)
        try:
            has = con.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'analytics_segment'"
            ).fetchone()
        finally:
            con.close()
        if not has:
            self.stdout.write("history: no analytics history in this data.db")
            return
        got = history_restore(client=local_client(env))
        self.stdout.write(
            f"history: downloaded {got.get('downloaded', 0)} segments from "
            f"{env.bucket_backup}/history/; {got.get('dropped', 0)} never uploaded, their "
            "events are sealed again from data.db by the next seal (cron, every 15 s)"
        )

    def _s3(self, env: Any, start: bool) -> Any:
        if not start:
            return contextlib.nullcontext()
        from web.stack.localstore import running_s3

        self.stdout.write(f"starting the S3 server on {env.data_dir / 's3'} ({env.s3_endpoint})")
        return running_s3(env)
