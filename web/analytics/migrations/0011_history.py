"""The columnar history's catalog: sealed segments and the sealed watermark."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0010_dedupe_keys")]

    operations = [
        migrations.CreateModel(
            name="Segment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=120, unique=True)),
                ("level", models.IntegerField()),
                ("min_seq", models.BigIntegerField()),
                ("max_seq", models.BigIntegerField()),
                ("rows", models.BigIntegerField()),
                ("bytes", models.BigIntegerField()),
                ("min_ts", models.DateTimeField(null=True)),
                ("max_ts", models.DateTimeField(null=True)),
                ("created_at", models.DateTimeField()),
                ("uploaded", models.BooleanField(default=False)),
            ],
        ),
        migrations.CreateModel(
            name="HistoryState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sealed_seq", models.BigIntegerField(default=0)),
                ("span_s", models.IntegerField(default=0)),
                ("updated_at", models.DateTimeField(null=True)),
            ],
        ),
    ]
