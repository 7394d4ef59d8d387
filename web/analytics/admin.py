"""Admin for sites (with the snippet to embed), goals and issues."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from web.analytics import goals
from web.analytics.models import Goal, Issue, Site
from web.analytics.services import issue_set_status
from web.dashboard import editors

SNIPPET = '<script defer data-site="{}" src="{}/ingest/t.js"></script>'


MAX_ALIASES = 20
MAX_ALIAS_LEN = 100


class AliasesField(forms.CharField):
    """Aliases typed one per line (or comma-separated, or as a JSON list) → list of str."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value: object) -> str:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return "" if value is None else str(value)

    def to_python(self, value: object) -> list[str]:
        text = str(value or "").strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError as exc:
                raise forms.ValidationError(f"Not a valid JSON list: {exc}") from exc
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise forms.ValidationError("Give a list of strings, one alias each.")
        else:
            items = [p for line in text.splitlines() for p in line.split(",")]
        out: list[str] = []
        for item in (i.strip() for i in items):
            if item and item not in out:
                out.append(item)
        return out


class SiteForm(forms.ModelForm):
    """Checks that every alias names this site only: no other site's alias, key or domain."""

    aliases = AliasesField(
        required=False,
        help_text="Other names your existing snippets use for this site, one per line: an "
        "Umami website id, a Plausible data-domain, a GoatCounter code, a Matomo idsite, a "
        "GA4 measurement id. Beacons sent under an alias still have to come from one of the "
        "site's domains.",
    )

    class Meta:
        model = Site
        fields = ("name", "domains", "aliases", "timezone")

    def clean_aliases(self) -> list[str]:
        aliases: list[str] = self.cleaned_data.get("aliases") or []
        if len(aliases) > MAX_ALIASES:
            raise forms.ValidationError(f"At most {MAX_ALIASES} aliases per site.")
        for alias in aliases:
            if len(alias) > MAX_ALIAS_LEN or any(c.isspace() for c in alias):
                raise forms.ValidationError(
                    f"{alias[:40]!r}: an alias is one word of at most {MAX_ALIAS_LEN} characters."
                )
        clashes = alias_clashes(aliases, exclude_pk=self.instance.pk)
        if clashes:
            raise forms.ValidationError(clashes)
        return aliases


def alias_clashes(aliases: list[str], *, exclude_pk: int | None) -> list[str]:
    """One message per alias that another site already answers to (as alias, key or domain)."""
    wanted = {a.strip().lower(): a for a in aliases}
    messages = []
    for site in Site.objects.exclude(pk=exclude_pk).only(
        "id", "name", "public_key", "domains", "aliases"
    ):
        taken = {
            **{str(a).strip().lower(): "an alias" for a in site.aliases or ()},
            **{str(d).strip().lower(): "a domain" for d in site.domains or ()},
            site.public_key.lower(): "the site key",
        }
        for low, alias in wanted.items():
            if low in taken:
                messages.append(
                    f"{alias!r} is already {taken[low]} of the site {site.name!r} (id {site.pk}); "
                    "an alias must name one site only. Remove it there first."
                )
    return messages


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    form = SiteForm
    list_display = ("id", "name", "domains", "aliases", "timezone", "public_key")
    readonly_fields = ("public_key", "snippet", "beacons", "created_at")

    @admin.display(description="Snippet to embed")
    def snippet(self, obj: Site) -> str:
        if not obj.pk:
            return "Save the site to get its snippet."
        from django.conf import settings

        code = SNIPPET.format(obj.public_key, settings.ENV.site_url)
        return format_html(
            '<code>{}</code><p class="help">Moving from Plausible, Umami or GoatCounter? '
            "Keep your snippet and change its host to {}; add its website id or "
            "data-domain under Aliases if it is not one of the domains.</p>",
            code,
            settings.ENV.site_url,
        )

    @admin.display(description="Beacons")
    def beacons(self, obj: Site) -> str:
        """What ingest did with this site's beacons lately, and a test pageview button, so
        an owner who sees nothing on the dashboard can tell why (issue 17, item 8)."""
        if not obj.pk:
            return "Save the site to see its beacons."
        return render_beacons(obj)

    def get_urls(self) -> list:
        from django.urls import path

        return [
            path(
                "<path:object_id>/test-pageview/",
                self.admin_site.admin_view(self.test_pageview_view),
                name="analytics_site_test_pageview",
            ),
            *super().get_urls(),
        ]

    def test_pageview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: send a real pageview for the site through ingest, then back to its page."""
        from web.ingest.testbeacon import send_test_pageview

        site = self.get_object(request, unquote(object_id))
        if site is None or not self.has_change_permission(request, site):
            raise Http404("No such site.")
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"], "Use the button on the site's page.")
        result = send_test_pageview(site)
        level = messages.SUCCESS if result.ok else messages.WARNING
        self.message_user(request, result.message, level)
        return redirect(reverse("admin:analytics_site_change", args=[site.pk]) + "#beacons")


def render_beacons(site: Site) -> str:
    """The last hour's accepted and dropped-by-reason counts, refusals, and the button."""
    from datetime import UTC, datetime

    from web.ingest.selectors import DROP_REASONS, refused_recently, site_beacons

    counts = site_beacons(site.pk)
    since = datetime.fromtimestamp(counts.since, UTC).strftime("%H:%M UTC")
    drops = format_html_join(
        "",
        "<li><b>{}</b> &times;{}: {}</li>",
        ((r, f"{n:,}", DROP_REASONS.get(r, "")) for r, n in counts.dropped.items()),
    )
    refused = format_html_join(
        "",
        "<li>unknown {} <code>{}</code> &times;{} (last at {})</li>",
        (
            (
                r.kind,
                r.value,
                f"{r.count:,}",
                datetime.fromtimestamp(r.last_at, UTC).strftime("%H:%M UTC"),
            )
            for r in refused_recently()
        ),
    )
    button_url = reverse("admin:analytics_site_test_pageview", args=[site.pk])
    return format_html(
        '<div id="beacons"><p>This hour and the last (since {}): '
        '<b data-accepted="{}">{} accepted</b>, '
        '<b data-dropped="{}">{} dropped</b>.</p>{}'
        "<p>Refused in the last 24 h (any site; the snippet names no known site key, "
        "domain or alias):</p>{}"
        '<p><button type="submit" class="button" formaction="{}" formmethod="post" '
        'formnovalidate id="test-pageview">Send a test pageview</button> '
        "sends one pageview of {} through ingest as a browser would.</p>"
        '<p class="help">Counts are written by each web process every ~10 s.</p></div>',
        since,
        counts.accepted,
        f"{counts.accepted:,}",
        counts.dropped_total,
        f"{counts.dropped_total:,}",
        format_html("<ul>{}</ul>", drops) if counts.dropped else "",
        format_html("<ul>{}</ul>", refused) if refused else mark_safe("<p>None.</p>"),
        button_url,
        f"https://{site.domains[0]}/…" if site.domains else "(add a domain first)",
    )


class GoalForm(editors.GoalEditorForm):
    """Normalises the pattern by the same rule the worker and the dashboards use; the kind
    is a choice of two and the pattern offers known pages or events (dashboard.editors)."""

    class Meta:
        model = Goal
        fields = ("site", "name", "kind", "match")
        widgets = {"match": editors.MatchWidget}
        help_texts = {"match": editors.PATTERN_HELP + " Goals count past visits too."}

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
    radio_fields = {"kind": admin.HORIZONTAL}

    def get_changeform_initial_data(self, request):  # type: ignore[no-untyped-def]
        """The site preselected on a one-site install."""
        return {**editors.site_initial(), **super().get_changeform_initial_data(request)}


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
