"""Send short-lived rows to ttl.db and everything else to data.db (see ADR-2).

ttl.db holds what may be lost without harm and is churned hard (sessions, one-time codes,
the outbox, caches); keeping it apart keeps data.db's WAL and its Litestream replica small.
"""

from __future__ import annotations

from typing import Any

TTL_DB = "ttl"
TTL_APP_LABELS = frozenset({"sessions", "django_eventstream"})
# "app_label.modelname" of models in other apps that belong in ttl.db.
TTL_MODELS: set[str] = set()


def register_ttl_model(label: str) -> None:
    """Declare a model ("app_label.modelname") as living in ttl.db; call from apps.py."""
    TTL_MODELS.add(label.lower())


def _is_ttl(app_label: str, model_name: str | None) -> bool:
    if app_label in TTL_APP_LABELS:
        return True
    return model_name is not None and f"{app_label}.{model_name}".lower() in TTL_MODELS


class HearthRouter:
    """Route by model label; migrations follow the same rule."""

    def _db(self, model: Any) -> str:
        meta = model._meta
        return TTL_DB if _is_ttl(meta.app_label, meta.model_name) else "default"

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self._db(model)

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self._db(model)

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return self._db(type(obj1)) == self._db(type(obj2))

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        if model_name is None and "model" in hints:
            model_name = hints["model"]._meta.model_name
        if model_name is None:
            # RunPython/RunSQL without a model hint: run on data.db only.
            return db == "default"
        return (db == TTL_DB) == _is_ttl(app_label, model_name)
