from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "web.core"
    label = "core"

    def ready(self) -> None:
        from web.core import checks  # noqa: F401  (registers the SQLite version check)
