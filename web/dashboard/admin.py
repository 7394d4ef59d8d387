"""Admin: API tokens (the secret is shown once), public links (the full address with a copy
button once saved), funnels (a step editor, see editors.py)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from web.analytics.models import Site
from web.dashboard import editors
from web.dashboard.models import ApiToken, Funnel, PublicLink
from web.dashboard.services import TOKEN_PREFIX, token_digest


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name", "sites", "rate_per_minute"]

    sites = forms.ModelMultipleChoiceField(queryset=Site.objects.all())


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["prefix", "created_at", "last_used_at", "revoked_at"] if obj else []

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """The only site already chosen on a one-site install."""
        one = editors.site_initial()
        initial = super().get_changeform_initial_data(request)
        return {"sites": [one["site"]], **initial} if one else initial

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            import secrets

            raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
            obj.prefix, obj.digest = raw[:10], token_digest(raw)
            messages.warning(request, f"Copy this token now; it is not stored: {raw}")
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        n = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        messages.info(request, f"Revoked {n} token(s).")


# The request of the change form being rendered (readonly field callables get only the object;
# a ContextVar is per thread and per task, unlike an attribute on the shared ModelAdmin).
_request: ContextVar[HttpRequest | None] = ContextVar("publiclink_request", default=None)


def share_url_of(link: PublicLink, request: HttpRequest | None) -> str:
    """The full address of a share link, as the browser reached the admin (proxy-aware
    through Django's host handling), else the configured site URL."""
    path = reverse("dashboard:share", args=[link.key])
    if request is not None:
        return request.build_absolute_uri(path)
    from django.conf import settings

    return settings.ENV.site_url + path


class SiteInitialMixin:
    """Preselects the site on a one-site install."""

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {**editors.site_initial(), **super().get_changeform_initial_data(request)}  # type: ignore[misc]


@admin.register(PublicLink)
class PublicLinkAdmin(SiteInitialMixin, admin.ModelAdmin):
    list_display = ["site", "url", "created_at", "revoked_at"]
    readonly_fields = ["share_url", "key", "created_at", "revoked_at"]
    fields = ["site", "share_url", "key", "created_at", "revoked_at"]
    actions = ["revoke"]

    class Media:
        css = {"all": ["dashboard/editor.css"]}

    @admin.display(description="Public URL")
    def url(self, obj: PublicLink) -> str:
        return format_html('<a href="{0}">{0}</a>', reverse("dashboard:share", args=[obj.key]))

    @admin.display(description="Share link")
    def share_url(self, obj: PublicLink) -> str:
        if not obj.pk:
            return "Save to create the link; its address appears here, ready to copy."
        url = share_url_of(obj, _request.get())
        if obj.revoked_at:
            return format_html("<s>{}</s> (revoked: it no longer opens)", url)
        return format_html(
            '<span class="share-url"><input type="text" readonly id="share-url-{0}" '
            'value="{1}" aria-label="Share link"> <button type="button" class="button" '
            'data-copy="#share-url-{0}">Copy</button> <a href="{1}" target="_blank" '
            'rel="noopener">Open</a></span>',
            obj.pk,
            url,
        )

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _request.set(request)
        try:
            response = super().changeform_view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()  # the readonly fields read _request while rendering
            return response
        finally:
            _request.reset(token)

    def response_add(self, request: HttpRequest, obj: PublicLink, *args: Any) -> HttpResponse:
        """Back to the link's own page (its address and a Copy button), with a message that
        links to the share page; Django's default lists the links without the address."""
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, *args)
        url = share_url_of(obj, request)
        messages.success(
            request,
            format_html(
                'Share link for {} created: <a href="{}" target="_blank" rel="noopener">{}</a>. '
                "Anyone with it can see this site's dashboard; revoke it here to stop that.",
                obj.site,
                url,
                url,
            ),
        )
        change = reverse("admin:dashboard_publiclink_change", args=[obj.pk])
        return HttpResponseRedirect(change)

    @admin.action(description="Revoke selected links")
    def revoke(self, request: HttpRequest, queryset: QuerySet[PublicLink]) -> None:
        n = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        messages.info(request, f"Revoked {n} link(s).")


@admin.register(Funnel)
class FunnelAdmin(SiteInitialMixin, admin.ModelAdmin):
    """Steps are edited row by row (web/dashboard/editors.py, dashboard/editor.js)."""

    form = editors.FunnelForm
    list_display = ["name", "site", "steps_text"]
    list_filter = ["site"]

    @admin.display(description="Steps")
    def steps_text(self, obj: Funnel) -> str:
        return " → ".join(str(s) for s in obj.steps or [])
