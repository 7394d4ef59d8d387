from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "web.dashboard"
    label = "dashboard"

    def ready(self) -> None:
        from web.db_router import register_ttl_model
        from web.live.channels import register_public_check

        # The rate counter moved to web.core; its old migrations still run on ttl.db.
        register_ttl_model("dashboard.ratecounter")
        register_ttl_model("dashboard.alertstate")
        # A site's live view is public while it has an unrevoked public link.
        register_public_check("metrics.views.", _site_is_shared)


def _site_is_shared(key: str) -> bool:
    from web.dashboard.models import PublicLink

    return key.isdigit() and PublicLink.objects.filter(site_id=int(key), revoked_at=None).exists()
