"""Settings: typed HEARTH_* parsing, zero-config dev mode, production refuses insecure secrets."""

from __future__ import annotations

import os

import pytest

from web import env as envmod
from web.core.testing import run_python
from web.env import REPO_ROOT, ConfigError

GOOD_KEY = "k3Jx9-Vq2L_aPz7RtYw8NbCe4MfGh6UiOs1DlKjH5XcVbNmQwErTyUiOpAsDfGh"
PROD = {
    "HEARTH_MODE": "production",
    "HEARTH_SECRET_KEY": GOOD_KEY,
    "HEARTH_ALLOWED_HOSTS": "example.org",
    "HEARTH_S3_SECRET_KEY": "a-real-s3-secret-0123456789",
    "HEARTH_S3_ACCESS_KEY": "hearth",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path):  # type: ignore[no-untyped-def]
    for key in list(os.environ):
        if key.startswith("HEARTH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HEARTH_DATA_DIR", str(tmp_path))
    return monkeypatch


def test_dev_mode_needs_no_configuration(clean_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = envmod.load()
    assert env.mode == "dev" and not env.production
    assert len(env.secret_key) >= 50
    assert (tmp_path / "secret_key").read_text().strip() == env.secret_key
    assert envmod.load().secret_key == env.secret_key  # stable across restarts
    assert env.data_db == tmp_path / "data.db" and env.ttl_db == tmp_path / "ttl.db"


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"HEARTH_SECRET_KEY": ""}, "HEARTH_SECRET_KEY"),
        ({"HEARTH_SECRET_KEY": "short"}, "HEARTH_SECRET_KEY"),
        ({"HEARTH_SECRET_KEY": "django-insecure-" + "x" * 60}, "HEARTH_SECRET_KEY"),
        ({"HEARTH_SECRET_KEY": "a" * 60}, "HEARTH_SECRET_KEY"),
        ({"HEARTH_ALLOWED_HOSTS": ""}, "HEARTH_ALLOWED_HOSTS"),
        ({"HEARTH_ALLOWED_HOSTS": "*"}, "HEARTH_ALLOWED_HOSTS"),
        ({"HEARTH_S3_SECRET_KEY": ""}, "HEARTH_S3_SECRET_KEY"),
        ({"HEARTH_PORT": "eighty"}, "HEARTH_PORT"),
        ({"HEARTH_MODE": "prod"}, "HEARTH_MODE"),
    ],
)
def test_production_refuses_bad_config_and_names_the_variable(
    clean_env, overrides: dict[str, str], names: str
) -> None:  # type: ignore[no-untyped-def]
    for key, value in {**PROD, **overrides}.items():
        clean_env.setenv(key, value)
    with pytest.raises(ConfigError, match=names):
        envmod.load()


def test_production_accepts_a_good_configuration(clean_env) -> None:  # type: ignore[no-untyped-def]
    for key, value in PROD.items():
        clean_env.setenv(key, value)
    env = envmod.load()
    assert env.production and env.allowed_hosts == ["example.org"]


def test_startup_fails_with_a_message_naming_the_variable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(PROD, HEARTH_SECRET_KEY="changeme", HEARTH_DATA_DIR=str(tmp_path))
    out = run_python("manage.py", "check", env=env)
    assert out.returncode == 2
    assert "configuration error: HEARTH_SECRET_KEY is insecure" in out.stderr


def test_env_example_documents_every_variable() -> None:
    """.env.example lists every HEARTH_* variable web/env.py reads (docs match the code)."""
    import re

    env_py = (REPO_ROOT / "web" / "env.py").read_text()
    example = (REPO_ROOT / ".env.example").read_text()
    read = set(re.findall(r'"(HEARTH_[A-Z0-9_]+)"', env_py))
    documented = set(re.findall(r"\b(HEARTH_[A-Z0-9_]+)=", example))
    assert read, "no variables found in web/env.py"
    assert sorted(read - documented) == []
