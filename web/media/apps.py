from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "web.media"
    label = "media"

    def ready(self) -> None:
        from web.media import signals  # noqa: F401  (registers the purge on delete)
