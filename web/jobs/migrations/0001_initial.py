"""JobRun moves here from the backups app: state only, the table backups_jobrun stays."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    # backups 0001 created the table; this migration only takes the model over.
    dependencies = [("backups", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="JobRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("job", models.CharField(max_length=100)),
                        ("started_at", models.DateTimeField()),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("outcome", models.CharField(default="running", max_length=300)),
                        ("counts", models.JSONField(blank=True, default=dict)),
                        ("error", models.TextField(blank=True, default="")),
                        ("dry_run", models.BooleanField(default=False)),
                        ("trigger", models.CharField(default="cron", max_length=20)),
                    ],
                    options={
                        "db_table": "backups_jobrun",
                        "ordering": ["-started_at"],
                        "indexes": [
                            models.Index(fields=["job", "-started_at"], name="jobrun_job_started")
                        ],
                    },
                ),
            ],
        ),
    ]
