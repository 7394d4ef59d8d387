"""Ingest's one table: beacon counts per hour, site and outcome, in ttl.db.

Each web process counts in memory (web/ingest/tally.py) and adds its counts here every
~10 s with one UPSERT per row, so the owner can see what was accepted, dropped (and why)
and refused (issue 16 item 1, issue 17 item 8). Rows older than two days are deleted by
the ttl cleanup job.
"""

from __future__ import annotations

from django.db import models


class BeaconCount(models.Model):
    """Beacons of one outcome in one UTC hour.

    ``outcome`` is ``accepted``, ``dropped`` (``detail`` is the reason) or ``refused``
    (``detail`` is ``key:<value>``, ``domain:<value>`` or ``alias:<value>``; ``site_id``
    is 0 because no site was found).
    """

    hour = models.BigIntegerField()  # unix seconds at the start of the UTC hour
    site_id = models.BigIntegerField()
    outcome = models.CharField(max_length=10)
    detail = models.CharField(max_length=140, default="")
    count = models.BigIntegerField(default=0)
    last_at = models.FloatField(default=0.0)  # unix seconds of the latest flush into it

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "site_id", "outcome", "detail"], name="ingest_beaconcount_key"
            )
        ]
        indexes = [models.Index(fields=["site_id", "hour"], name="ingest_beaconcount_site")]
