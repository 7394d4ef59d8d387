"""`manage.py ttl_cleanup [--dry-run]`: the cron job "ttl cleanup", run by hand."""

from web.jobs.management.jobcommand import JobCommand


class Command(JobCommand):
    help = "Delete expired rows of ttl.db (sessions, codes, outbox, SSE replay)."
    job_name = "ttl cleanup"
    has_workers = False
