"""Admin: API tokens (the secret is shown once), public links, funnels."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from web.analytics.models import Site
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


@admin.register(PublicLink)
class PublicLinkAdmin(admin.ModelAdmin):
    list_display = ["site", "url", "created_at", "revoked_at"]
    readonly_fields = ["key", "created_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="Public URL")
    def url(self, obj: PublicLink) -> str:
        return f"/share/{obj.key}/"

    @admin.action(description="Revoke selected links")
    def revoke(self, request: HttpRequest, queryset: QuerySet[PublicLink]) -> None:
        n = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        messages.info(request, f"Revoked {n} link(s).")


class FunnelForm(forms.ModelForm):
    class Meta:
        model = Funnel
        fields = ["site", "name", "steps"]
        help_texts = {
            "steps": 'JSON list of 2 to 8 steps: page paths ("/pricing/", "/blog/*") or '
            '"event:<name>", e.g. ["/", "/pricing/", "event:signup"]'
        }

    def clean_steps(self) -> list[str]:
        steps = self.cleaned_data["steps"]
        if (
            not isinstance(steps, list)
            or not 2 <= len(steps) <= 8
            or not all(isinstance(x, str) and x.strip() for x in steps)
        ):
            raise forms.ValidationError("give a JSON list of 2 to 8 non-empty strings")
        return [x.strip() for x in steps]


@admin.register(Funnel)
class FunnelAdmin(admin.ModelAdmin):
    form = FunnelForm
    list_display = ["name", "site"]
