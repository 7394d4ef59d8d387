"""Beacon counts per hour, site and outcome, in ttl.db (issue 16 item 1, issue 17 item 8)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="BeaconCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hour", models.BigIntegerField()),
                ("site_id", models.BigIntegerField()),
                ("outcome", models.CharField(max_length=10)),
                ("detail", models.CharField(default="", max_length=140)),
                ("count", models.BigIntegerField(default=0)),
                ("last_at", models.FloatField(default=0.0)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["site_id", "hour"], name="ingest_beaconcount_site")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("hour", "site_id", "outcome", "detail"),
                        name="ingest_beaconcount_key",
                    )
                ],
            },
        ),
    ]
