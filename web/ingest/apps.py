from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "web.ingest"
    label = "ingest"
