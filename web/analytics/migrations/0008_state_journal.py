"""Visitor states move from analytics_visitorstate (one row per visitor, rewritten at random
B-tree places) to an append-only journal (web/analytics/visitorstates.py). Existing states
become the journal's first snapshot, so open sessions and unique counts carry over."""

import secrets
import struct
import time
import zlib
from array import array

from django.db import migrations, models

from web.analytics.timefmt import parse_ts

# Record format v1 of web/analytics/visitorstates.py, frozen here.
_HEAD = struct.Struct("<qIqdiiHH")


def _ids(raw: object) -> array:
    ids = array("I")
    if isinstance(raw, (bytes, memoryview)) and len(raw) % ids.itemsize == 0:
        ids.frombytes(bytes(raw))
    return ids


def states_to_journal(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cur:
        cur.execute(
            "SELECT visitor_id, site_id, session_id, last_seen, hour, seen_hour, day, seen_day "
            "FROM analytics_visitorstate"
        )
        records = []
        for vid, site, sid, last, hour, seen_h, day, seen_d in cur.fetchall():
            h, d = _ids(seen_h), _ids(seen_d)
            head = _HEAD.pack(
                vid, site, sid, float(last), int(parse_ts(hour) // 3600), int(parse_ts(day) // 86400),
                len(h), len(d),
            )  # fmt: skip
            records.append(head + h.tobytes() + d.tobytes())
        if not records:
            return
        cur.execute(
            "INSERT INTO analytics_statejournal (token, kind, states, data, created_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            [secrets.randbits(62), "snapshot", len(records),
             zlib.compress(b"".join(records), 1), time.time()],
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0007_visitor_seen_packed"),
    ]

    operations = [
        migrations.CreateModel(
            name="StateJournal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token", models.BigIntegerField()),
                ("kind", models.CharField(max_length=8)),
                ("states", models.IntegerField()),
                ("data", models.BinaryField()),
                ("created_at", models.FloatField()),
            ],
        ),
        migrations.RunPython(states_to_journal, migrations.RunPython.noop),
        migrations.DeleteModel(name="VisitorState"),
    ]
