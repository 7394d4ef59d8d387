from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "web.dashboard"
    label = "dashboard"

    def ready(self) -> None:
        from web.db_router import register_ttl_model
        from web.live.channels import register_public_check

        register_ttl_model("dashboard.ratecounter")
        register_ttl_model("dashboard.alertstate")
        try:
            from web.core.ttl import register_cleaner
            from web.dashboard.services import ratecounters_clean

            register_cleaner("dashboard.ratecounters", ratecounters_clean)
        except ImportError:  # backups app absent: counters then only grow by one row a minute
            pass
        # A site's live view is public while it has an unrevoked public link.
        register_public_check("metrics.views.", _site_is_shared)


def _site_is_shared(key: str) -> bool:
    from web.dashboard.models import PublicLink

    return key.isdigit() and PublicLink.objects.filter(site_id=int(key), revoked_at=None).exists()
