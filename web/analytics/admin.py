"""Admin for sites (with the snippet to embed), goals and issues."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from web.analytics import goals
from web.analytics.models import Goal, Issue, Site
from web.analytics.services import issue_set_status

SNIPPET = '<script defer data-site="{}" src="{}/ingest/t.js"></script>'


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "domains", "timezone", "public_key")
    readonly_fields = ("public_key", "snippet", "created_at")

    @admin.display(description="Snippet to embed")
    def snippet(self, obj: Site) -> str:
        if not obj.pk:
            return "Save the site to get its snippet."
        from django.conf import settings

        code = SNIPPET.format(obj.public_key, settings.ENV.site_url)
        return format_html("<code>{}</code>", code)


class GoalForm(forms.ModelForm):
    """Normalises the pattern by the same rule the worker and the dashboards use."""

    class Meta:
        model = Goal
        fields = ("site", "name", "kind", "match")
        help_texts = {
            "match": "Event goal: the custom event's name. Page goal: a path such as /pricing; "
            "* matches any characters (/blog/*). A trailing slash is ignored. Goals count "
            "past visits too.",
        }

    def clean(self) -> dict:
        data = super().clean()
        kind, match = data.get("kind"), data.get("match")
        if kind and match is not None:
            try:
                data["match"] = goals.normalise_pattern(kind, match)
            except goals.GoalError as exc:
                self.add_error("match", str(exc))
        return data


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    form = GoalForm
    list_display = ("name", "site", "kind", "match")
    list_filter = ("site", "kind")


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    list_display = ("type", "message", "kind", "status", "count", "sessions", "last_seen")
    list_filter = ("status", "kind", "site")
    search_fields = ("message", "type", "culprit")
    readonly_fields = [f.name for f in Issue._meta.fields if f.name != "status"]
    actions = ("resolve", "ignore", "reopen")

    def _set(self, queryset, status: str) -> None:
        for issue in queryset:
            issue_set_status(issue_id=issue.pk, status=status)

    @admin.action(description="Resolve (reopens if it happens again)")
    def resolve(self, request, queryset) -> None:
        self._set(queryset, Issue.Status.RESOLVED)

    @admin.action(description="Ignore")
    def ignore(self, request, queryset) -> None:
        self._set(queryset, Issue.Status.IGNORED)

    @admin.action(description="Reopen")
    def reopen(self, request, queryset) -> None:
        self._set(queryset, Issue.Status.OPEN)
