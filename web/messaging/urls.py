from django.urls import path

from web.messaging import views

urlpatterns = [
    path("metrics", views.metrics, name="messaging-metrics"),
]
