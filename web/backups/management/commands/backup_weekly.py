"""`manage.py backup_weekly [--dry-run]`: the cron job "backup weekly", run by hand."""

from web.jobs.management.jobcommand import JobCommand


class Command(JobCommand):
    help = "Promote offsite daily/ to 1-week/ with server-side copies."
    job_name = "backup weekly"
    has_workers = True
