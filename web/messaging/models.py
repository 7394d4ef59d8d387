"""Outbox (ttl.db), dead letters and processed job ids (data.db).

See docs/architecture/queues-and-subjects.md, "Data model".
"""

from __future__ import annotations

from django.db import models


class OutboxJob(models.Model):
    """A job whose publish failed or whose PubAck was late; the relay republishes it.

    Lives in ttl.db: rows exist only while NATS is unreachable and are deleted once the
    stream acknowledged them under the same Nats-Msg-Id.
    """

    msg_id = models.CharField(max_length=64, unique=True)
    subject = models.CharField(max_length=200)
    data = models.BinaryField()
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.subject} {self.msg_id}"


class DeadLetter(models.Model):
    """A job that failed permanently or ran out of deliveries, kept for inspection/replay."""

    class Reason(models.TextChoices):
        PERMANENT = "permanent", "Permanent error"
        MAX_DELIVERIES = "max_deliveries", "Max deliveries reached"
        NO_HANDLER = "no_handler", "No handler registered"

    class Status(models.TextChoices):
        DEAD = "dead", "Dead"
        REPLAYED = "replayed", "Replayed"

    job_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=120, db_index=True)
    subject = models.CharField(max_length=200)
    data = models.BinaryField()
    headers = models.JSONField(default=dict)
    error = models.TextField(blank=True, default="")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    deliveries = models.PositiveIntegerField(default=0)
    stream_seq = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DEAD)
    times_dead = models.PositiveIntegerField(default=1)
    replays = models.PositiveIntegerField(default=0)
    first_dead_at = models.DateTimeField(auto_now_add=True)
    last_dead_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_dead_at", "-id"]
        indexes = [models.Index(fields=["status", "-last_dead_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.job_id}"

    @property
    def payload_text(self) -> str:
        return bytes(self.data).decode("utf-8", "replace")


class ProcessedJob(models.Model):
    """Job ids whose effect was committed; a handler claims its id in the same transaction.

    This is what makes redelivery after a crash harmless (see web.messaging.handlers once=True and
    services.job_claim). Trimmed after a week, far beyond any redelivery horizon.
    """

    job_id = models.CharField(max_length=64, primary_key=True)
    processed_at = models.DateTimeField(db_index=True)
