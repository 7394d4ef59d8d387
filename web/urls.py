"""URL map: each bounded context brings its own urls.py."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("web.core.urls")),
    path("admin/", admin.site.urls),
    path("", include("web.messaging.urls")),
    path("", include("web.live.urls")),
    path("", include("web.ingest.urls")),
    path("", include("web.analytics.urls")),
    path("", include("web.dashboard.urls")),
    path("", include("web.accounts.urls")),
    path("", include("web.media.urls")),
    path("", include("web.backups.urls")),
    # The site owns the root and the catch-all slugs, so it comes last.
    path("", include("web.blog.urls")),
]
