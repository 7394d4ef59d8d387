"""Uploaded images (data.db). Originals live in the private bucket, variants in the public one.

An image is shown only once `status == READY`; the job records every variant and flips the
status in one transaction, after all variant objects were written to S3 (see site.md, ADR-17),
so a page never points at a missing object and never at a half-done variant set.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Image(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        READY = "ready"
        FAILED = "failed"

    alt = models.CharField(max_length=300, help_text="Describes the image for screen readers.")
    original_key = models.CharField(max_length=200, unique=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.alt[:40]} ({self.width}x{self.height}, {self.status})"


class Variant(models.Model):
    """One encoded size of an image, stored under a content-addressed key in the public bucket."""

    class Format(models.TextChoices):
        WEBP = "webp"
        JPEG = "jpeg"

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="variants")
    kind = models.CharField(max_length=10, help_text="'thumb' or 'w<width>'.")
    format = models.CharField(max_length=5, choices=Format.choices)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    key = models.CharField(max_length=200)
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "kind", "format"], name="media_variant_once")
        ]
        ordering = ["width"]

    def __str__(self) -> str:
        return self.key
