"""A SeaweedFS and a Litestream of a test's own, started as the stack starts them.

For tests (and benchmarks) that stop, restart or slow down the box's stores, so the
session's shared S3 server stays untouched. KEY and SECRET are the credentials of every
such server (and of offsite buckets tests point at the session's S3).
"""

from __future__ import annotations

import dataclasses
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from web.core.s3 import local_client
from web.core.testing import stop_group, wait_http, wait_until
from web.env import Env
from web.stack.buckets import ensure_buckets
from web.stack.servers import S3Server, binary, free_port

KEY, SECRET = "hearth-test", "hearth-test-secret-key"


@contextmanager
def own_s3(data_dir: Path, port: int | None = None) -> Iterator[S3Server]:
    """A SeaweedFS of this test's own (the box's local store), started like the stack does."""
    server = S3Server(
        data_dir=data_dir, access_key=KEY, secret_key=SECRET, port=port or free_port()
    )
    config = server.write_config(data_dir.parent / f"s3-{server.port}.json")
    log = (data_dir.parent / f"weed-{server.port}.log").open("wb")
    proc = subprocess.Popen(
        server.argv(config), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        client = local_client(_bare_env(server.endpoint), fast_fail=True)
        wait_until(
            lambda: ensure_buckets(client, ["public", "private", "backup"]) is None,
            timeout=120,
            interval=0.2,
            message="own weed",
            ignore=(BotoCoreError, ClientError),
        )
        yield server
    finally:
        # weed's graceful stop can hang; writes are fsynced per request
        stop_group(proc, grace=1.0)
        log.close()


def _bare_env(endpoint: str) -> Env:
    from django.conf import settings

    return dataclasses.replace(
        settings.ENV, s3_endpoint=endpoint, s3_access_key=KEY, s3_secret_key=SECRET
    )


@contextmanager
def litestream(env: Env) -> Iterator[str]:
    """``litestream replicate -config deploy/litestream.yml`` for env; yields its URL."""
    from web.core.litestream import LITESTREAM_CONFIG, litestream_env

    port = free_port()
    child = litestream_env(env)
    child["HEARTH_LITESTREAM_ADDR"] = f"127.0.0.1:{port}"
    log = (env.data_dir / "litestream.log").open("ab")
    proc = subprocess.Popen(
        [binary("litestream"), "replicate", "-config", str(LITESTREAM_CONFIG)],
        env=child,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/metrics", timeout=30, message="litestream", probe_timeout=1)
        yield url
    finally:
        stop_group(proc, grace=10)
        log.close()


def env_for(
    base: Env,
    endpoint: str,
    *,
    data_dir: Path,
    offsite_endpoint: str,
    offsite_bucket: str | None = None,
    **extra: Any,
) -> Env:
    """An Env whose local store is ``endpoint`` and whose offsite is ``offsite_bucket`` (a
    fresh one by default), both signed with the test store's KEY and SECRET."""
    return dataclasses.replace(
        base,
        data_dir=data_dir,
        s3_endpoint=endpoint,
        s3_public_url=endpoint,
        s3_access_key=KEY,
        s3_secret_key=SECRET,
        offsite_endpoint=offsite_endpoint,
        offsite_access_key=KEY,
        offsite_secret_key=SECRET,
        offsite_bucket=f"offsite-{uuid.uuid4().hex[:8]}"
        if offsite_bucket is None
        else offsite_bucket,
        **extra,
    )
