from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "web.blog"
    label = "blog"
