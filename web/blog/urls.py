from django.urls import path

from web.blog import feeds, views

app_name = "blog"
urlpatterns = [
    path("", views.home, name="home"),
    path("projects/", views.projects, name="projects"),
    path("tags/<slug:slug>/", views.tag, name="tag"),
    path("posts/<slug:slug>/", views.post_detail, name="post"),
    path("posts/<slug:slug>/comments", views.comment_post, name="comment"),
    path("feed.rss", feeds.LatestRss(), name="rss"),
    path("feed.atom", feeds.LatestAtom(), name="atom"),
    path("sitemap.xml", views.sitemap, name="sitemap"),
    path("robots.txt", views.robots, name="robots"),
]
