from django.apps import AppConfig


class StackConfig(AppConfig):
    name = "web.stack"
    label = "stack"
