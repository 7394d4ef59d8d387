"""`manage.py up`: the same as `make up`: becomes the lean supervisor (web/stack/up.py)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start nats, s3, litestream (+cron), web and worker; Ctrl-C stops them all."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        # Replace this Django process: the supervisor lives as long as the stack and must not
        # hold Django (issue 18, item 6).
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, "-m", "web.stack.up"])
