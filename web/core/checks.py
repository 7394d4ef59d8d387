"""Startup checks run by `manage.py check`, migrate and the stack."""

from __future__ import annotations

from typing import Any

from django.core import checks

from web.sqlite import version_risk


@checks.register()
def sqlite_version_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when the SQLite library has a known corruption risk, and say how we avoid it."""
    _version, risk = version_risk()
    if risk is None:
        return []
    return [checks.Warning(risk, id="hearth.W001")]
