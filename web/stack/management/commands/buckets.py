"""`manage.py buckets`: create public/private/backup and make public readable by object.

Compose runs it before web starts (MinIO takes the bucket policy). The embedded SeaweedFS
gets the same rule from its anonymous identity (web/stack/servers.py), so there the policy
call is not needed.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from web.core.s3 import local_client
from web.stack.buckets import ensure_buckets, public_read_policy
from web.stack.servers import ServerError, wait_until


class Command(BaseCommand):
    help = "Create the buckets (waiting for the S3 server) and apply the public-read policy."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=120)

    def handle(self, *args: Any, **options: Any) -> None:
        env = settings.ENV
        buckets = [env.bucket_public, env.bucket_private, env.bucket_backup]
        try:
            wait_until(
                lambda: ensure_buckets(local_client(env, fast_fail=True), buckets) is None,
                timeout=options["timeout"],
                what=f"S3 server at {env.s3_endpoint}",
            )
        except ServerError as exc:
            raise CommandError(str(exc)) from exc
        client = local_client(env)
        try:
            client.put_bucket_policy(
                Bucket=env.bucket_public, Policy=public_read_policy(env.bucket_public)
            )
            names = ", ".join(buckets)
            self.stdout.write(f"buckets ready: {names} ({env.bucket_public} readable by key)")
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            self.stdout.write(
                f"buckets ready: {', '.join(buckets)}; bucket policy not applied ({code}): "
                "the server must grant anonymous read of the public bucket itself"
            )
