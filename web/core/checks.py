"""Startup checks run by `manage.py check`, migrate and the stack."""

from __future__ import annotations

from typing import Any

from django.core import checks

from web.sqlite import version_risk


@checks.register(deploy=True)
def sqlite_version_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when the SQLite library has a known corruption risk, and say how we avoid it.

    A deploy check only (`manage.py check --deploy`): as an ordinary check every command
    printed it, alarming and with nothing to do (issue 17, item 14). `make up` says it once in
    plain words (web.sqlite.version_note) and `make status` prints the detail."""
    _version, risk = version_risk()
    if risk is None:
        return []
    return [checks.Warning(risk, id="hearth.W001")]
