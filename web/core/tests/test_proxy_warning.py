"""Issue 15, S6: a production web process without trusted proxies says so at startup,
naming HEARTH_TRUSTED_PROXIES (behind a proxy, every reader would share one limit)."""

from __future__ import annotations

import dataclasses

from django.conf import settings

from web.asgi import PROXY_WARNING, proxy_warning
from web.core.testing import production_env, run_python


def test_the_warning_names_the_variable_in_production_only() -> None:
    prod = dataclasses.replace(settings.ENV, mode="production", trusted_proxies=())
    assert proxy_warning(prod) == PROXY_WARNING and "HEARTH_TRUSTED_PROXIES" in PROXY_WARNING
    trusted = dataclasses.replace(prod, trusted_proxies=("10.0.0.0/8",))
    assert proxy_warning(trusted) is None
    assert proxy_warning(dataclasses.replace(prod, mode="dev")) is None


def _startup_output(env: dict[str, str]) -> str:
    """What a production web process prints while it loads (stdout and stderr)."""
    out = run_python("-c", "import web.asgi", env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stderr + out.stdout


def test_a_production_web_process_logs_it_at_startup(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = production_env(tmp_path, HEARTH_ALLOWED_HOSTS="hearth.example")
    assert "HEARTH_TRUSTED_PROXIES is empty" in _startup_output(env)
    env["HEARTH_TRUSTED_PROXIES"] = "10.0.0.0/8"
    assert "HEARTH_TRUSTED_PROXIES is empty" not in _startup_output(env)
