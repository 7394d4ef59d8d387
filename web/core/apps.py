from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "web.core"
    label = "core"

    def ready(self) -> None:
        from web.core import checks  # noqa: F401  (registers the SQLite version check)
        from web.core.ratelimit import clean_rate_counters
        from web.core.ttl import register_cleaner
        from web.db_router import register_ttl_model

        register_ttl_model("core.ratecounter")
        register_cleaner("core.rate_counters", clean_rate_counters)
