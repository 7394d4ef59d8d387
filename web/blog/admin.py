"""Admin: write posts (rendered on save) and moderate the comment queue."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from web.blog import live, services
from web.blog.models import Comment, Post, Tag

EMBED_RECENT = 12  # images listed with their embed snippet on the post form


def _thumb(image: Any) -> str:
    """A small thumbnail of a ready image (sized by attributes: the admin runs under CSP)."""
    from web.media.selectors import picture

    pic = picture(image, thumb=True)
    if pic is None:
        return ""
    height = max(1, round(48 * pic.height / pic.width))
    return format_html('<img src="{}" width="48" height="{}" alt="">', pic.src, height)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "status", "published_at", "updated_at"]
    list_filter = ["status", "kind", "tags"]
    search_fields = ["title", "body_md"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["tags"]
    raw_id_fields = ["cover"]
    date_hierarchy = "published_at"
    fields = [
        "title",
        "slug",
        "kind",
        "status",
        "published_at",
        "cover",
        "excerpt",
        "body_md",
        "embed_images",
        "tags",
    ]
    readonly_fields = ["embed_images"]

    class Media:
        css = {"all": ["blog/admin-post.css"]}

    @admin.display(description="Images to embed")
    def embed_images(self, obj: Post | None = None) -> str:
        """The newest ready images, each with its ``![alt](media:ID)`` snippet and a Copy
        button (hearth/copy.js), so embedding one needs no trip to the docs."""
        from web.media.models import Image
        from web.media.selectors import embed_snippet

        images = list(
            Image.objects.filter(status=Image.Status.READY)
            .prefetch_related("variants")
            .order_by("-pk")[:EMBED_RECENT]
        )
        upload = reverse("admin:media_image_add")
        if not images:
            return format_html(
                'No images yet. <a href="{}">Upload one</a>; once it is ready its snippet '
                "(<code>![alt](media:ID)</code>) appears here to copy into the body.",
                upload,
            )
        rows = format_html_join(
            "",
            '<li>{}<input type="text" readonly class="embed-snippet" id="embed-{}" value="{}" '
            'aria-label="Snippet for image {}"><button type="button" class="button" '
            'data-copy="#embed-{}">Copy</button></li>',
            ((_thumb(i), i.pk, embed_snippet(i), i.pk, i.pk) for i in images),
        )
        return format_html(
            '<p class="help">Paste a snippet into the body where the image should go; the '
            "page shows it as a responsive picture. The newest ready images are listed: "
            '<a href="{}">upload another</a> or <a href="{}">see all images</a>.</p>'
            '<ul class="embed-list">{}</ul>',
            upload,
            reverse("admin:media_image_changelist"),
            rows,
        )

    def save_model(self, request: HttpRequest, obj: Post, form: Any, change: bool) -> None:
        if obj.author_id is None:
            obj.author_id = request.user.pk
        services.post_prepare(post=obj)
        super().save_model(request, obj, form, change)


def _moderate(request: HttpRequest, queryset: QuerySet[Comment], status: str) -> None:
    n = 0
    for comment in queryset:
        services.comment_moderate(comment=comment, status=status, by=request.user)
        n += 1
    messages.success(request, f"{n} comment(s) marked {status}.")


@admin.action(description="Approve selected comments")
def approve(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
    _moderate(request, queryset, Comment.Status.APPROVED)


@admin.action(description="Reject selected comments")
def reject(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
    _moderate(request, queryset, Comment.Status.REJECTED)


@admin.action(description="Mark selected comments as spam")
def spam(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
    _moderate(request, queryset, Comment.Status.SPAM)


class StatusFilter(admin.SimpleListFilter):
    """Defaults to the moderation queue (pending) instead of everything."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*Comment.Status.choices, ("all", "All")]

    def choices(self, changelist: Any):  # type: ignore[no-untyped-def]
        value = self.value() or Comment.Status.PENDING
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        value = self.value() or Comment.Status.PENDING
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "post", "author", "short_body", "status", "created_at"]
    list_filter = [StatusFilter]
    list_select_related = ["post", "author"]
    search_fields = ["body_md", "author__username"]
    actions = [approve, reject, spam]
    readonly_fields = ["post", "author", "body_md", "created_at", "moderated_at", "moderated_by"]
    fields = ["post", "author", "body_md", "status", "created_at", "moderated_at", "moderated_by"]
    change_list_template = "admin/blog/comment/change_list.html"

    @admin.display(description="comment")
    def short_body(self, obj: Comment) -> str:
        return obj.body_md if len(obj.body_md) <= 120 else obj.body_md[:119].rstrip() + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Comment, form: Any, change: bool) -> None:
        if change and "status" in form.changed_data and obj.status != Comment.Status.PENDING:
            services.comment_moderate(comment=obj, status=obj.status, by=request.user)
        else:
            super().save_model(request, obj, form, change)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):  # type: ignore[no-untyped-def]
        channel = live.ALERT_SUBJECT.removeprefix("events.")
        url = reverse("live-admin-events") + f"?channel={channel}"
        extra_context = {**(extra_context or {}), "live_admin_url": url}
        return super().changelist_view(request, extra_context)
