"""Dedupe by unit (a pack's job id) instead of a unique index on every raw event's id.

Keys of the last day's events and drops are carried over, so a job stored just before the
upgrade and redelivered after it (its ack lost) is still skipped: a pack's events have ids
"<job id>:<index>", a single event's id is its job id (both forms are carried).
"""

import time

from django.db import migrations, models

CARRY_S = 24 * 3600


def carry_keys(apps, schema_editor):  # type: ignore[no-untyped-def]
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - CARRY_S))
    with schema_editor.connection.cursor() as cur:
        # The id itself (a single event's key) and, for "<job id>:<digits>", the job id.
        pack_key = "substr(event_id, 1, length(rtrim(event_id, '0123456789')) - 1)"
        is_pack = "rtrim(event_id, '0123456789') GLOB '*:' AND event_id NOT GLOB '*:'"
        for table in ("analytics_event", "analytics_droppedevent"):
            for key, where in (("event_id", "1"), (pack_key, is_pack)):
                cur.execute(
                    f"INSERT OR IGNORE INTO analytics_dedupekey (key, stored_at) "
                    f"SELECT {key}, max(ts) FROM {table} WHERE ts >= %s AND {where} GROUP BY 1",
                    [since],
                )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0009_session_no_last_seen_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="DedupeKey",
            fields=[
                ("key", models.CharField(max_length=80, primary_key=True, serialize=False)),
                ("stored_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(carry_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="event",
            name="event_id",
            field=models.CharField(max_length=80),
        ),
    ]
