"""`manage.py backup_biweekly [--dry-run]`: the cron job "backup biweekly", run by hand."""

from web.jobs.management.jobcommand import JobCommand


class Command(JobCommand):
    help = "Promote offsite 1-week/ to 2-week/ with server-side copies."
    job_name = "backup biweekly"
    has_workers = True
