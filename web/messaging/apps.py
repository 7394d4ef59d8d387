from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "web.messaging"
    label = "messaging"
