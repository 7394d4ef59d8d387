from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import path

from web.core import views

FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on every site (a 404 there fills logs)."""
    return HttpResponse(
        FAVICON.read_bytes(),
        content_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    # Included before web.messaging.urls in web/urls.py: this view guards /metrics (it hands
    # dev-mode requests to web.messaging.views.metrics).
    path("metrics", views.metrics, name="metrics"),
]
