from django.urls import path

from web.core import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # Included before web.messaging.urls in web/urls.py: this view guards /metrics (it hands
    # dev-mode requests to web.messaging.views.metrics).
    path("metrics", views.metrics, name="metrics"),
]
