"""The stack's one-shot work, run by the supervisor as children that exit.

``python -m web.stack.prepare db`` migrates data.db and ttl.db and makes sure of the admin
account (Django); ``python -m web.stack.prepare s3`` creates the buckets, proves a write and
makes sure of the stack id (boto3). Each prints one JSON line and exits 0, or prints the error
and exits 1.

Why children: the supervisor lives as long as the stack, and Django plus boto3 in it held
~90 MB PSS for nothing once the work was done (issue 18, item 6). A child that exits gives
all of it back.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def prepare_db() -> dict[str, str]:
    """Migrate both databases, then ensure the admin account; return user and password."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from web.stack.launch import StackPaths, ensure_admin

    for db in ("default", "ttl"):
        call_command("migrate", database=db, interactive=False, verbosity=0)
    user, password = ensure_admin(StackPaths(settings.ENV.data_dir))
    return {"user": user, "password": password}


def prepare_s3() -> dict[str, str]:
    """Create the three buckets with a probe write each, and the stack id; raises until the
    S3 server accepts writes."""
    from web.core.s3 import local_client
    from web.env import load
    from web.stack.buckets import ensure_buckets
    from web.stack.stackid import stack_id_ensure

    env = load()
    client = local_client(env, fast_fail=True)
    ensure_buckets(client, [env.bucket_public, env.bucket_private, env.bucket_backup])
    # The id a restore checks the backup bucket against (web/stack/stackid.py).
    stack_id = stack_id_ensure(data_dir=env.data_dir, client=client, bucket=env.bucket_backup)
    return {"stack_id": stack_id}


def main(argv: list[str]) -> int:
    steps = {"db": prepare_db, "s3": prepare_s3}
    if len(argv) != 1 or argv[0] not in steps:
        print(f"usage: python -m web.stack.prepare {'|'.join(steps)}", file=sys.stderr)
        return 2
    try:
        result = steps[argv[0]]()
    except Exception as exc:  # the supervisor shows the reason and decides
        traceback.print_exc()
        print(f"prepare {argv[0]}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
