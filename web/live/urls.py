from django.urls import path

from web.live import views

urlpatterns = [path("live/admin/events/", views.admin_events, name="live-admin-events")]
