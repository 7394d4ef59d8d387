from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Declared jobs: the job table, run records, the runner and the job commands."""

    name = "web.jobs"
    label = "jobs"
