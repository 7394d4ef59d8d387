#!/usr/bin/env python
"""Django's command-line utility for Hearth (`manage.py up`, `status`, `migrate`, ...)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    from web.env import ConfigError

    try:
        from django.core.management import execute_from_command_line

        from web.stack.live import use_live_stack

        # Every command run beside a running stack talks to its servers (it picked free
        # ports), not to the defaults: backup_daily, restore, queue, status, cron_run, ...
        use_live_stack()
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
