"""`manage.py backup_daily [--dry-run]`: the cron job "backup daily", run by hand."""

from web.jobs.management.jobcommand import JobCommand


class Command(JobCommand):
    help = "Copy new and changed objects of the local buckets to offsite daily/."
    job_name = "backup daily"
    has_workers = True
