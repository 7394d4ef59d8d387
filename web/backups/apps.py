from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "web.backups"
    label = "backups"
