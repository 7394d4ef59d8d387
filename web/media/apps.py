from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "web.media"
    label = "media"
