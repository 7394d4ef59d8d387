from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "web.analytics"
    label = "analytics"
