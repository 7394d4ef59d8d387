from django.urls import path

from web.dashboard import api, views

app_name = "dashboard"

urlpatterns = [
    path("dashboard/", views.index, name="index"),
    path("dashboard/status/", views.status, name="status"),
    path("dashboard/<int:site_id>/", views.site_dashboard, name="site"),
    path("dashboard/<int:site_id>/panel/<slug:name>/", views.panel, name="panel"),
    path("dashboard/<int:site_id>/details/<slug:name>/", views.details, name="details"),
    path("dashboard/<int:site_id>/export.zip", views.export_zip, name="export"),
    path("dashboard/<int:site_id>/realtime/", views.realtime, name="realtime"),
    path("dashboard/<int:site_id>/errors/", views.issues, name="issues"),
    path("dashboard/<int:site_id>/errors/<int:issue_id>/", views.issue, name="issue"),
    path(
        "dashboard/<int:site_id>/errors/<int:issue_id>/status/",
        views.issue_status,
        name="issue-status",
    ),
    path("share/<str:key>/", views.share, name="share"),
    path("share/<str:key>/panel/<slug:name>/", views.share_panel, name="share-panel"),
    path("share/<str:key>/details/<slug:name>/", views.share_details, name="share-details"),
    path("share/<str:key>/realtime/", views.share_realtime, name="share-realtime"),
    path("api/v1/aggregate", api.aggregate, name="api-aggregate"),
    path("api/v1/timeseries", api.timeseries, name="api-timeseries"),
    path("api/v1/breakdown", api.breakdown, name="api-breakdown"),
    path("api/v1/funnel", api.funnel, name="api-funnel"),
    path("api/v1/openapi.json", api.openapi, name="api-openapi"),
]
