"""Public pages. Thin: queries in selectors.py, writes in services.py."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST, require_safe

from web.accounts.services import profile_set_name
from web.blog import live, selectors, services
from web.blog.fragments import comments_html
from web.blog.models import Post, Tag

LIVE_SSE_PATH = "/live/events/"


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    page = selectors.post_page(page=request.GET.get("page"))
    return render(request, "blog/list.html", {"page": page, "heading": None})


@require_safe
def projects(request: HttpRequest) -> HttpResponse:
    page = selectors.post_page(page=request.GET.get("page"), kind=Post.Kind.PROJECT)
    return render(request, "blog/list.html", {"page": page, "heading": "Projects"})


@require_safe
def tag(request: HttpRequest, slug: str) -> HttpResponse:
    t = get_object_or_404(Tag, slug=slug)
    page = selectors.post_page(page=request.GET.get("page"), tag=t)
    if not page.object_list:
        raise Http404("no published posts with this tag")
    return render(request, "blog/list.html", {"page": page, "heading": f"Tagged “{t.name}”"})


def _live_url(post: Post) -> str:
    """The public SSE stream (web/live/sse.py) of this post's comment channel."""
    return f"{LIVE_SSE_PATH}?channel={live.post_channel(post.pk)}"


@require_safe
def post_detail(request: HttpRequest, slug: str) -> HttpResponse:
    post = selectors.post_public(slug=slug)
    if post is None:
        raise Http404("no such post")
    context = {
        "post": post,
        "comments": comments_html(selectors.comments_visible(post=post)),
        "live_url": _live_url(post),
        "posted": request.GET.get("posted"),
    }
    return render(request, "blog/post.html", context)


@require_POST
def comment_post(request: HttpRequest, slug: str) -> HttpResponse:
    post = get_object_or_404(Post.objects.published(), slug=slug)
    if not request.user.is_authenticated:
        sign_in = reverse("accounts:sign_in") + f"?next={post.get_absolute_url()}"
        return HttpResponseRedirect(sign_in, status=303)
    try:
        comment = services.comment_create(
            post=post, author=request.user, body=request.POST.get("body", "")
        )
    except services.CommentRejected as exc:
        context = {
            "post": post,
            "comments": comments_html(selectors.comments_visible(post=post)),
            "live_url": _live_url(post),
            "error": str(exc),
            "draft": request.POST.get("body", ""),
        }
        return render(request, "blog/post.html", context, status=exc.status)
    name = request.POST.get("name", "")
    if name.strip():
        profile_set_name(user=request.user, display_name=name)
    return HttpResponseRedirect(
        f"{post.get_absolute_url()}?posted={comment.status}#comments", status=303
    )


@require_safe
@cache_control(max_age=3600, public=True)
def sitemap(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    context = {
        "base": base,
        "posts": selectors.sitemap_entries(),
        "tags": selectors.tags_in_use(),
    }
    return render(request, "blog/sitemap.xml", context, content_type="application/xml")


@require_safe
@cache_control(max_age=86400, public=True)
def robots(request: HttpRequest) -> HttpResponse:
    sitemap_url = request.build_absolute_uri(reverse("blog:sitemap"))
    disallow = getattr(settings, "BLOG_ROBOTS_DISALLOW", ["/admin/", "/accounts/"])
    lines = ["User-agent: *", *(f"Disallow: {p}" for p in disallow), f"Sitemap: {sitemap_url}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
