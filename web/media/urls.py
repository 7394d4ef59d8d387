from django.urls import path

from web.media import views

app_name = "media"
urlpatterns = [
    path("media/originals/<int:pk>", views.original, name="original"),
    path("media/images/<int:pk>/progress", views.progress, name="progress"),
]
