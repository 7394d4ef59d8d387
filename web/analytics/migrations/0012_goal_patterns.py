"""Normalise stored goal patterns by the one rule (web/analytics/goals.py): a page goal
written as ``/pricing/`` matched nothing, because stored paths have no trailing slash."""

from django.db import migrations


def normalise(apps, schema_editor):  # type: ignore[no-untyped-def]
    from web.analytics.goals import GoalError, normalise_pattern

    Goal = apps.get_model("analytics", "Goal")
    for goal in Goal.objects.all():
        try:
            match = normalise_pattern(goal.kind, goal.match)
        except GoalError:
            continue  # an unusable pattern stays as it was; it matches nothing either way
        if match != goal.match:
            goal.match = match
            goal.save(update_fields=["match"])


class Migration(migrations.Migration):
    dependencies = [("analytics", "0011_history")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
