"""JobRun now belongs to the jobs app (issue 18, item 1): state only, no table change."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("backups", "0001_initial"), ("jobs", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="JobRun")],
        ),
    ]
