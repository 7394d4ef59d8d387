"""Site.aliases: other names ingest accepts for a site (issue 16, item 4)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0012_goal_patterns"),
    ]

    operations = [
        migrations.AddField(
            model_name="site",
            name="aliases",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Other names your existing snippets use for this site: an Umami "
                "website id, a Plausible data-domain, a GoatCounter code, a Matomo idsite, "
                "a GA4 measurement id.",
            ),
        ),
    ]
