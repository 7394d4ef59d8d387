"""Start the box's own S3 server (SeaweedFS) alone, for a restore on a stopped or new box.

Runs exactly as the embedded stack does (web.stack.servers.S3Server, data in
``<data dir>/s3``) on the port of HEARTH_S3_ENDPOINT, so that ``make up`` afterwards finds
the restored objects. It refuses a port that is already taken (issue 15, reliability 3).

It lives with the stack, which knows how to run the servers; `manage.py restore --start-s3`
asks for it (it moved out of the backups app in issue 18, item 1).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlparse

from web.core.s3 import local_client
from web.env import Env
from web.stack.buckets import ensure_buckets
from web.stack.live import live_stack
from web.stack.servers import S3Server, ServerError


class LocalStoreError(ServerError):
    """The box's S3 server could not be started alone; the message says what to do."""


def port_taken(port: int) -> bool:
    """True when something listens on 127.0.0.1:``port`` or it cannot be bound."""
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return True
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as weed (Go) does
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _refuse_taken(env: Env, port: int) -> None:
    """Raise LocalStoreError when the endpoint's port is not free (weed would fail to bind it,
    and the readiness probe would then pass against whoever answers there)."""
    if not port_taken(port):
        return
    state = live_stack(env.data_dir)
    if state:
        raise LocalStoreError(
            f"a stack is running on {env.data_dir} (supervisor pid {state.get('pid')}) and "
            f"its S3 server holds port {port}: stop it first (Ctrl-C on `make up`), then run "
            "the restore again"
        )
    raise LocalStoreError(
        f"port {port} of HEARTH_S3_ENDPOINT ({env.s3_endpoint}) is taken: another process "
        f"(another Hearth stack? `ss -ltnp 'sport = :{port}'` names it) answers there, and "
        f"its data is not {env.data_dir / 's3'}. Stop it, or set HEARTH_S3_ENDPOINT to a free "
        "port (`make up` finds the restored store on any port)"
    )


@contextlib.contextmanager
def running_s3(env: Env) -> Iterator[S3Server]:
    """A SeaweedFS on env.data_dir/s3 at env.s3_endpoint's port, stopped on exit.

    Raises LocalStoreError when that port is taken or the server exits or never gets ready.
    """
    port = urlparse(env.s3_endpoint).port
    if port is None:
        raise LocalStoreError(f"HEARTH_S3_ENDPOINT {env.s3_endpoint!r} has no port")
    _refuse_taken(env, port)
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
    log_path = run_dir / "s3-restore.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        server.argv(config), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        client = local_client(env, fast_fail=True)
        buckets = [env.bucket_public, env.bucket_private, env.bucket_backup]

        deadline = time.monotonic() + 120
        while True:
            # Our weed must be the one answering: once it exited, a probe that passes
            # talks to somebody else's server.
            if proc.poll() is not None:
                raise LocalStoreError(
                    f"the S3 server (weed) exited with code {proc.returncode}; see {log_path}"
                )
            try:
                ensure_buckets(client, buckets)
                break
            except Exception as exc:  # not ready yet
                if time.monotonic() > deadline:
                    raise LocalStoreError(
                        f"the S3 server (weed) was not ready after 120s ({exc!r}); see {log_path}"
                    ) from exc
            time.sleep(0.2)
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
