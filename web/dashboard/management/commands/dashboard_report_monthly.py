"""manage.py dashboard_report_monthly [--dry-run] [--site N --print]"""

from web.dashboard.management.report_command import ReportCommand


class Command(ReportCommand):
    period = "monthly"
