"""Assemble the embedded stack: ports, configs, the six processes and their environment.

Imported by the supervisor, which stays lean: no Django and no boto3 at module level here.
The S3 readiness probe's bucket work runs in a child (``web.stack.prepare s3``)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from web.core.litestream import litestream_replicate_argv, without_ca_bundle
from web.env import REPO_ROOT, Env
from web.stack.servers import NatsServer, S3Server, free_port
from web.stack.supervisor import Service


@dataclass(frozen=True)
class StackPaths:
    data_dir: Path

    @property
    def run(self) -> Path:
        return self.data_dir / "run"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def state(self) -> Path:
        return self.run / "stack.json"

    @property
    def lock(self) -> Path:
        return self.run / "stack.lock"

    @property
    def admin_password(self) -> Path:
        return self.data_dir / "admin-password.txt"


def _port(configured: int) -> int:
    return configured or free_port()


def build_services(env: Env) -> tuple[list[Service], dict[str, object]]:
    """The six processes in start order, plus the facts `status` and the banner print."""
    paths = StackPaths(env.data_dir)
    paths.run.mkdir(parents=True, exist_ok=True)
    nats = NatsServer(
        store_dir=env.data_dir / "nats",
        port=_port(env.nats_port),
        monitor_port=_port(env.nats_monitor_port),
    )
    s3 = S3Server(
        data_dir=env.data_dir / "s3",
        access_key=env.s3_access_key,
        secret_key=env.s3_secret_key,
        public_bucket=env.bucket_public,
        port=_port(env.s3_port),
    )
    litestream_port = _port(env.litestream_port)
    # Litestream refuses a plain-http endpoint when AWS_CA_BUNDLE is set: one helper.
    child_env = {
        **without_ca_bundle(os.environ),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "web.settings",
        "HEARTH_MODE": env.mode,
        "HEARTH_DATA_DIR": str(env.data_dir),
        "HEARTH_HOST": env.host,
        "HEARTH_PORT": str(env.port),
        "HEARTH_NATS_URL": nats.url,
        "HEARTH_NATS_MONITOR_URL": nats.monitor_url,
        "HEARTH_S3_ENDPOINT": s3.endpoint,
        "HEARTH_S3_PUBLIC_URL": env.s3_public_url
        if os.environ.get("HEARTH_S3_PUBLIC_URL")
        else s3.endpoint,
        "HEARTH_S3_REGION": env.s3_region,
        "HEARTH_S3_ACCESS_KEY": env.s3_access_key,
        "HEARTH_S3_SECRET_KEY": env.s3_secret_key,
        "HEARTH_BUCKET_PUBLIC": env.bucket_public,
        "HEARTH_BUCKET_PRIVATE": env.bucket_private,
        "HEARTH_BUCKET_BACKUP": env.bucket_backup,
        "HEARTH_LITESTREAM_ADDR": f"127.0.0.1:{litestream_port}",
        "HEARTH_LITESTREAM_URL": f"http://127.0.0.1:{litestream_port}",
    }
    child_env["HEARTH_SECRET_KEY"] = env.secret_key
    py = sys.executable

    def s3_ready() -> bool:
        # SeaweedFS answers HTTP before it accepts writes: once it answers, the child makes
        # the buckets with a probe write each (buckets.py) and the stack id, or fails.
        httpx.get(s3.endpoint, timeout=1)
        proc = subprocess.run(
            [py, "-m", "web.stack.prepare", "s3"],
            env=child_env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip()[-500:])
        return True

    def http_ok(url: str) -> bool:
        return httpx.get(url, timeout=1).status_code == 200

    web_url = f"http://{env.host}:{env.port}"
    services = [
        Service(
            "nats",
            nats.argv(nats.write_config(paths.run / "nats.conf")),
            child_env,
            ready=nats.ready,
        ),
        Service(
            "s3",
            s3.argv(s3.write_config(paths.run / "s3.json")),
            child_env,
            ready=s3_ready,
            ready_timeout=120,
            # weed's graceful shutdown can hang for long; its writes are fsynced per request.
            stop_grace=3,
        ),
        Service(
            "litestream",
            litestream_replicate_argv(exec_cmd=f"{py} -m cron"),
            child_env,
            ready=lambda: http_ok(f"http://127.0.0.1:{litestream_port}/metrics"),
        ),
        Service(
            "web",
            [
                str(Path(py).parent / "gunicorn"),
                "web.asgi:application",
                "--worker-class",
                "web.core.gunicorn_worker.HearthUvicornWorker",
                "--forwarded-allow-ips",
                ",".join(env.trusted_proxies) or "127.0.0.1",
                "--workers",
                str(env.web_workers),
                "--bind",
                f"{env.host}:{env.port}",
                "--graceful-timeout",
                "10",
                "--control-socket",
                str(paths.run / "gunicorn.ctl"),
            ],
            child_env,
            cwd=REPO_ROOT,
            ready=lambda: httpx.get(f"{web_url}/healthz", timeout=3).status_code in (200, 503),
        ),
        Service("worker", [py, "-m", "worker"], child_env, cwd=REPO_ROOT),
    ]
    for service in services:
        service.cwd = REPO_ROOT
    facts: dict[str, object] = {
        "url": web_url,
        "data_dir": str(env.data_dir),
        "nats_url": nats.url,
        "nats_monitor_url": nats.monitor_url,
        "s3_endpoint": s3.endpoint,
        "litestream_url": f"http://127.0.0.1:{litestream_port}",
        "env": {
            k: v for k, v in child_env.items() if k.startswith("HEARTH_") and "SECRET" not in k
        },
    }
    return services, facts


KEPT_PASSWORD = "(unchanged: this database's own admin password)"


def ensure_admin(paths: StackPaths) -> tuple[str, str]:
    """Create the first staff account on a fresh data dir; return (username, password).

    Hearth sets a password only for an account it creates itself: ``admin``, created when the
    database has neither an ``admin`` nor any superuser, its password written to
    ``admin-password.txt``. It never sets the password of an account that exists already: a
    database restored onto a new box (no ``admin-password.txt``) or set up by hand keeps its
    users and their passwords, and the password returned is ``KEPT_PASSWORD``, a note saying
    so (docs/architecture/restore.md, "Credentials after a restore").
    """
    from django.contrib.auth import get_user_model

    User = get_user_model()
    if paths.admin_password.exists():
        return "admin", paths.admin_password.read_text().strip()
    existing = User.objects.filter(username="admin").first() or (
        User.objects.filter(is_superuser=True).order_by("pk").first()
    )
    if existing is not None:  # not ours to change: a restored or hand-made account
        return existing.get_username(), KEPT_PASSWORD
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser("admin", "admin@localhost", password)
    tmp = paths.admin_password.with_suffix(".tmp")
    tmp.write_text(password + "\n")
    tmp.chmod(0o600)
    tmp.replace(paths.admin_password)
    return "admin", password
