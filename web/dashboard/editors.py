"""Admin editors for funnels and goals: widgets, suggestions and validation.

The page-pattern rule is ``web.analytics.goals`` (one rule for the worker, the history and
these forms): a trailing slash is ignored (``/pricing/`` is stored as ``/pricing``) and ``*``
matches any characters (``/blog/*``). The editors are progressive enhancement: the form
field is the JSON list the model stores, a small script (``dashboard/editor.js``) edits it
through rows of "page or event" inputs, and every rule is applied again here on save, with
messages that name the step and say what to type.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.db.models import Sum

from web.analytics import goals
from web.analytics.models import Rollup, Site
from web.dashboard.models import Funnel

MIN_STEPS, MAX_STEPS = 2, 8
SUGGEST_DAYS = 30
SUGGEST_LIMIT = 50

PATTERN_HELP = (
    "Page: a path such as /pricing. A trailing slash does not matter (/pricing/ is saved as "
    "/pricing and matches both); * matches any characters, so /blog/* is every page under "
    "/blog/ and * alone is any page. Event: the exact name of a custom event, such as signup."
)
STEPS_HELP = (
    f"{MIN_STEPS} to {MAX_STEPS} steps, in the order a visit goes through them. A visit "
    "counts for a step when it reaches it after the step before. " + PATTERN_HELP
)
EXAMPLE = '["/", "/pricing", "event:signup"]'


def site_initial() -> dict[str, int]:
    """``{"site": id}`` on a one-site install (so the form opens with it chosen), else {}."""
    ids = list(Site.objects.values_list("pk", flat=True)[:2])
    return {"site": ids[0]} if len(ids) == 1 else {}


def suggestions(site_id: int | None, *, days: int = SUGGEST_DAYS) -> dict[str, list[str]]:
    """The most visited pages and the most sent custom event names of the last ``days``
    days (hourly rollups; all sites when ``site_id`` is None), for the editors' pick lists."""
    since = datetime.now(UTC) - timedelta(days=days)
    rows = Rollup.objects.filter(hour__gte=since)
    if site_id:
        rows = rows.filter(site_id=site_id)
    out: dict[str, list[str]] = {}
    for key, dim, measure in (("pages", "page", "pageviews"), ("events", "event", "events")):
        top = (
            rows.filter(dim=dim)
            .values("value")
            .annotate(n=Sum(measure))
            .order_by("-n", "value")[:SUGGEST_LIMIT]
        )
        out[key] = [r["value"] for r in top if r["value"]]
    return out


def _site_id(form: forms.ModelForm) -> int | None:
    """The site the form is about: bound data, the instance's, or the preselected one."""
    raw = form.data.get("site") if form.is_bound else None
    raw = raw or (form.instance.site_id if form.instance.pk else form.initial.get("site"))
    try:
        return int(raw) if raw else None
    except (TypeError, ValueError):
        return None


def normalise_step(index: int, step: Any) -> str:
    """One funnel step in its stored form (``event:<name>`` or a normalised page pattern).
    Raises ValidationError naming the step (1-based ``index``) and what to type instead."""
    where = f"Step {index}"
    if not isinstance(step, str):
        raise forms.ValidationError(
            f'{where} is not text: write a page such as "/pricing" or "event:signup".'
        )
    step = step.strip()
    if not step:
        raise forms.ValidationError(
            f"{where} is empty: enter a page path such as /pricing, or choose Event and "
            "enter an event name (or remove the step)."
        )
    if step.startswith("event:") and not step[6:].strip():
        raise forms.ValidationError(f"{where} is an event step without a name: enter one.")
    try:
        kind, pattern = goals.step_spec(step)
    except goals.GoalError as exc:
        raise forms.ValidationError(f"{where}: {exc}.") from exc
    return f"event:{pattern}" if kind == "event" else pattern


def clean_steps(value: Any) -> list[str]:
    """The stored list of steps from the form's value, or ValidationError with every
    problem found (each message names its step)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise forms.ValidationError(
                f"The steps are not a valid list. Write them as {EXAMPLE}."
            ) from None
    if not isinstance(value, list):
        raise forms.ValidationError(f"The steps must be a list, such as {EXAMPLE}.")
    if len(value) < MIN_STEPS:
        raise forms.ValidationError(
            f"A funnel needs at least {MIN_STEPS} steps (this one has {len(value)}): add a step."
        )
    if len(value) > MAX_STEPS:
        raise forms.ValidationError(
            f"A funnel has at most {MAX_STEPS} steps (this one has {len(value)}): remove some."
        )
    errors, steps = [], []
    for i, step in enumerate(value, start=1):
        try:
            steps.append(normalise_step(i, step))
        except forms.ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise forms.ValidationError(errors)
    return steps


class StepsWidget(forms.Widget):
    """A textarea holding the steps as JSON (what is submitted, and all a browser without
    script sees), plus the data the step editor script builds its rows from."""

    template_name = "admin/dashboard/steps_widget.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.suggest: dict[str, list[str]] = {"pages": [], "events": []}

    def format_value(self, value: Any) -> str:
        if value is None or value == "":
            return "[]"
        if isinstance(value, str):
            return value  # what was typed, shown again with the error beside it
        return json.dumps(value)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            suggest=self.suggest,
            min_steps=MIN_STEPS,
            max_steps=MAX_STEPS,
            pattern_help=PATTERN_HELP,
        )
        return context

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class StepsField(forms.Field):
    """The funnel's steps: JSON text in, a normalised list of strings out."""

    widget = StepsWidget

    def to_python(self, value: Any) -> Any:
        return value

    def prepare_value(self, value: Any) -> Any:
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return clean_steps(data) != initial
        except forms.ValidationError:
            return True

    def clean(self, value: Any) -> list[str]:
        if value in (None, ""):
            raise forms.ValidationError(
                f"Add the funnel's steps ({MIN_STEPS} to {MAX_STEPS}), for example {EXAMPLE}."
            )
        return clean_steps(value)


class MatchWidget(forms.TextInput):
    """A goal's pattern input with pick lists of known pages and events (the goal editor
    script switches the list and the placeholder with the goal's kind)."""

    template_name = "admin/dashboard/match_widget.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"class": "vTextField", **(attrs or {})})
        self.suggest: dict[str, list[str]] = {"pages": [], "events": []}

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["suggest"] = self.suggest
        return context


class SuggestingForm(forms.ModelForm):
    """Fills its editor widgets' pick lists for the form's site."""

    suggest_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data = suggestions(_site_id(self))
        for name in self.suggest_fields:
            self.fields[name].widget.suggest = data


class FunnelForm(SuggestingForm):
    """The funnel form with the step editor (see the module docstring)."""

    suggest_fields = ("steps",)
    steps = StepsField(help_text=STEPS_HELP)

    class Meta:
        model = Funnel
        fields = ["site", "name", "steps"]

    class Media:
        css = {"all": ["dashboard/editor.css"]}
        js = ["dashboard/editor.js"]


class GoalEditorForm(SuggestingForm):
    """Base for the goal form: kind as radio buttons, the pattern with pick lists."""

    suggest_fields = ("match",)

    class Media:
        css = {"all": ["dashboard/editor.css"]}
        js = ["dashboard/editor.js"]
