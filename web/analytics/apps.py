from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "web.analytics"
    label = "analytics"

    def ready(self) -> None:
        from web.analytics import signals  # noqa: F401 - registers the receivers
