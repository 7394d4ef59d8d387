"""Start the box's own S3 server (SeaweedFS) alone, for a restore on a stopped or new box.

Runs exactly as the embedded stack does (web.stack.servers.S3Server, data in
``<data dir>/s3``) on the port of HEARTH_S3_ENDPOINT, so that ``make up`` afterwards finds
the restored objects.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from urllib.parse import urlparse

from web.core.s3 import local_client
from web.env import Env
from web.stack.buckets import ensure_buckets
from web.stack.servers import S3Server, wait_until


@contextlib.contextmanager
def running_s3(env: Env) -> Iterator[S3Server]:
    """A SeaweedFS on env.data_dir/s3 at env.s3_endpoint's port, stopped on exit."""
    port = urlparse(env.s3_endpoint).port
    if port is None:
        raise ValueError(f"HEARTH_S3_ENDPOINT {env.s3_endpoint!r} has no port")
    server = S3Server(
        data_dir=env.data_dir / "s3",
        access_key=env.s3_access_key,
        secret_key=env.s3_secret_key,
        public_bucket=env.bucket_public,
        port=port,
    )
    run_dir = env.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    config = server.write_config(run_dir / "s3-restore.json")
    log = (run_dir / "s3-restore.log").open("wb")
    proc = subprocess.Popen(
        server.argv(config), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        client = local_client(env, fast_fail=True)
        buckets = [env.bucket_public, env.bucket_private, env.bucket_backup]
        wait_until(
            lambda: ensure_buckets(client, buckets) is None, timeout=120, what="S3 server (weed)"
        )
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                # weed's graceful stop can hang; its writes are already fsynced per request.
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
